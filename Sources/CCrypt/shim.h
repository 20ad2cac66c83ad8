// libcrypt's crypt_rn / crypt_gensalt_rn; Glibc's module does not export them.
#include <crypt.h>
// getrandom(2) seeds new salts; Glibc's Swift module does not export it either.
#include <sys/random.h>
