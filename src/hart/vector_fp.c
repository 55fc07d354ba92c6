/* V extension floating point (V spec chapter 13) through fpu.c. */
#include "hart/fpu.h"
#include "hart/vector.h"

enum exec_status vec_fp(struct dv_hart *h, struct vinsn *v)
{
    (void)h;
    (void)v;
    return EXEC_ILLEGAL;
}
