// libcrypt's crypt_rn / crypt_gensalt_rn; Glibc's module does not export them.
#include <crypt.h>
