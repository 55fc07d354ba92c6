# Writes vmem_ops.h, the list of load/store forms vmem.c runs: python3 gen_vmem_ops.py > vmem_ops.h
E=[8,16,32,64]
lines=[]; table=[]
def T(name, text, kind, e, nf, ie=0, store=False):
    ident="t_"+name.replace(".","_")
    lines.append('T(%s, "%s")' % (ident, text))
    table.append('    {"%s", %s, %d, %d, %d, %d, %d},' % (name, ident, kind, e, nf, ie, int(store)))
# kind: 0 unit, 1 strided, 2 indexed, 3 whole, 4 mask, 5 ff
for e in E:
    for m in ["", ", v0.t"]:
        sfx = ".m" if m else ""
        T("vle%d%s"%(e,sfx), "vle%d.v v8, (a0)%s"%(e,m), 0, e, 1)
        T("vse%d%s"%(e,sfx), "vse%d.v v8, (a0)%s"%(e,m), 0, e, 1, store=True)
        T("vle%dff%s"%(e,sfx), "vle%dff.v v8, (a0)%s"%(e,m), 5, e, 1)
        T("vlse%d%s"%(e,sfx), "vlse%d.v v8, (a0), a1%s"%(e,m), 1, e, 1)
        T("vsse%d%s"%(e,sfx), "vsse%d.v v8, (a0), a1%s"%(e,m), 1, e, 1, store=True)
    for nf in range(2,9):
        m = ", v0.t" if nf % 2 else ""
        T("vlseg%de%d"%(nf,e), "vlseg%de%d.v v8, (a0)%s"%(nf,e,m), 0, e, nf)
        T("vsseg%de%d"%(nf,e), "vsseg%de%d.v v8, (a0)%s"%(nf,e,m), 0, e, nf, store=True)
        T("vlseg%de%dff"%(nf,e), "vlseg%de%dff.v v8, (a0)%s"%(nf,e,m), 5, e, nf)
        T("vlsseg%de%d"%(nf,e), "vlsseg%de%d.v v8, (a0), a1%s"%(nf,e,m), 1, e, nf)
        T("vssseg%de%d"%(nf,e), "vssseg%de%d.v v8, (a0), a1%s"%(nf,e,m), 1, e, nf, store=True)
        ie = E[(nf + E.index(e)) % 4]
        T("vluxseg%dei%d"%(nf,ie), "vluxseg%dei%d.v v8, (a0), v24%s"%(nf,ie,m), 2, 0, nf, ie)
        T("vloxseg%dei%d"%(nf,ie), "vloxseg%dei%d.v v8, (a0), v24%s"%(nf,ie,m), 2, 0, nf, ie)
        T("vsuxseg%dei%d"%(nf,ie), "vsuxseg%dei%d.v v8, (a0), v24%s"%(nf,ie,m), 2, 0, nf, ie, True)
        T("vsoxseg%dei%d"%(nf,ie), "vsoxseg%dei%d.v v8, (a0), v24%s"%(nf,ie,m), 2, 0, nf, ie, True)
    for nr in [1,2,4,8]:
        T("vl%dre%d"%(nr,e), "vl%dre%d.v v8, (a0)"%(nr,e), 3, e, nr)
for ie in E:
    for m in ["", ", v0.t"]:
        sfx = ".m" if m else ""
        for o in ["u","o"]:
            T("vl%sxei%d%s"%(o,ie,sfx), "vl%sxei%d.v v8, (a0), v24%s"%(o,ie,m), 2, 0, 1, ie)
            T("vs%sxei%d%s"%(o,ie,sfx), "vs%sxei%d.v v8, (a0), v24%s"%(o,ie,m), 2, 0, 1, ie, True)
for nr in [1,2,4,8]:
    T("vs%dr"%nr, "vs%dr.v v8, (a0)"%nr, 3, 8, nr, store=True)
T("vlm", "vlm.v v8, (a0)", 4, 8, 1)
T("vsm", "vsm.v v8, (a0)", 4, 8, 1, store=True)
print("\n".join(lines))
print("static const struct op ops[] = {")
print("\n".join(table))
print("};")
