// Linux credential calls the Swift Glibc module does not export (MaildirStore's
// FileOwner.swift and the executable's Privileges.swift use them).
// - setfsuid/setfsgid (<sys/fsuid.h>): per-thread file-system ids, so a pool thread can
//   do one user's file operation with the kernel checking that user's permissions.
// - capset(2) and prctl(2) have no Swift-callable wrapper (prctl is variadic, capset is
//   only a system call): small static inline functions below.
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <errno.h>
#include <linux/capability.h>

/// Lowers the process's permitted, effective and inheritable capability sets to `keep`
/// (a bit mask of CAP_* numbers) and drops every other capability from the bounding
/// set, so no exec can regain them. Returns 0 or -1 with errno.
static inline int imapd_limit_capabilities(unsigned long long keep) {
    for (int cap = 0; cap <= 63; cap++) {
        if (keep & (1ULL << cap)) continue;
        // EINVAL: a number past the kernel's last capability; nothing to drop.
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) return -1;
    }
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    data[0].effective = data[0].permitted = (unsigned)(keep & 0xffffffffULL);
    data[1].effective = data[1].permitted = (unsigned)(keep >> 32);
    data[0].inheritable = data[1].inheritable = 0;
    return (int)syscall(SYS_capset, &header, data);
}

/// The process's effective capability set (for logging and tests), or ~0 on error.
static inline unsigned long long imapd_effective_capabilities(void) {
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &header, data) != 0) return ~0ULL;
    return ((unsigned long long)data[1].effective << 32) | data[0].effective;
}

/// PR_SET_NO_NEW_PRIVS: no exec can gain privileges (setuid bits, file capabilities).
static inline int imapd_set_no_new_privileges(void) {
    return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}
