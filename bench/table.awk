# bench/table.awk: medians, ranges and ratios from a results file (see
# bench/lib.sh for its format). Plain POSIX awk (Debian's default is mawk).
#
#   awk [-v prefixes="boot_ cpu_"] [-v mode=markdown|chart|values] -f table.awk RESULTS
#
# markdown (default): one Markdown table row per metric whose name starts
#   with one of the prefixes (all when empty), in the order they were described.
# chart: "LABEL<TAB>COST" per metric measured on both sides, COST being
#   duvisor relative to QEMU on a lower-is-better scale (the ratio, or its
#   inverse for higher-is-better metrics), for the gnuplot chart.
# values: "METRIC<TAB>SIDE<TAB>MEDIAN<TAB>MIN<TAB>MAX<TAB>N", for scripts.
BEGIN {
    FS = "\t"
    if (mode == "")
        mode = "markdown"
    nprefix = split(prefixes, prefix, " ")
}

function wanted(m,    i) {
    if (nprefix == 0)
        return 1
    for (i = 1; i <= nprefix; i++)
        if (index(m, prefix[i]) == 1)
            return 1
    return 0
}

$1 == "meta" {
    if (!($2 in label)) {
        order[++nmeta] = $2
        label[$2] = $3
        unit[$2] = $4
        better[$2] = $5
    }
    next
}
$1 == "info" || $1 == "cmd" || $1 == "note" || NF < 3 { next }
{
    key = $1 SUBSEP $2
    n[key]++
    v[key, n[key]] = $3 + 0
}

# Sorts v[key, 1..count] in place (insertion sort: a handful of samples).
function sortkey(key, count,    i, j, t) {
    for (i = 2; i <= count; i++) {
        t = v[key, i]
        for (j = i - 1; j >= 1 && v[key, j] > t; j--)
            v[key, j + 1] = v[key, j]
        v[key, j + 1] = t
    }
}

function median(key, count) {
    return count % 2 ? v[key, (count + 1) / 2] : (v[key, count / 2] + v[key, count / 2 + 1]) / 2
}

function fmt(x,    a) {
    a = x < 0 ? -x : x
    if (a >= 100)
        return sprintf("%.0f", x)
    if (a >= 10)
        return sprintf("%.1f", x)
    if (a >= 1)
        return sprintf("%.2f", x)
    return sprintf("%.3f", x)
}

function cell(m, side,    key, c) {
    key = m SUBSEP side
    c = n[key]
    if (!c)
        return "—"
    sortkey(key, c)
    med[side] = median(key, c)
    if (c == 1)
        return fmt(med[side])
    return fmt(med[side]) " (" fmt(v[key, 1]) "–" fmt(v[key, c]) ")"
}

END {
    if (mode == "markdown") {
        print "| metric | unit | duvisor: median (min–max) | QEMU: median (min–max) | duvisor ÷ QEMU |"
        print "|---|---|---|---|---|"
    }
    for (i = 1; i <= nmeta; i++) {
        m = order[i]
        if (!wanted(m))
            continue
        delete med
        d = cell(m, "duvisor")
        q = cell(m, "qemu")
        ratio = ""
        verdict = ""
        if (("duvisor" in med) && ("qemu" in med) && med["qemu"] != 0) {
            r = med["duvisor"] / med["qemu"]
            ratio = fmt(r)
            cost = better[m] == "higher" ? (r != 0 ? 1 / r : 0) : r
            if (better[m] == "info")
                verdict = "for reference"
            else if (cost < 0.97)
                verdict = "duvisor better"
            else if (cost > 1.03)
                verdict = "QEMU better"
            else
                verdict = "even"
        }
        if (mode == "chart") {
            if (ratio != "" && cost > 0 && better[m] != "info")
                printf "%s\t%.6g\n", label[m], cost
        } else if (mode == "values") {
            for (s = 1; s <= 2; s++) {
                side = s == 1 ? "duvisor" : "qemu"
                key = m SUBSEP side
                if (n[key])
                    printf "%s\t%s\t%.6g\t%.6g\t%.6g\t%d\n", m, side, med[side], v[key, 1],
                        v[key, n[key]], n[key]
            }
        } else {
            arrow = better[m] == "higher" ? ", higher is better" : better[m] == "lower" ? ", lower is better" : ""
            printf "| %s | %s%s | %s | %s | %s |\n", label[m], unit[m], arrow, d, q,
                ratio == "" ? "—" : ratio " (" verdict ")"
        }
    }
}
