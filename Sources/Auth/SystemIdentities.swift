import Glibc

/// getpwnam_r / getgrnam_r lookups, for passwd-file uid and gid fields written as names
/// (Dovecot accepts `vmail` as well as `5000`). The reentrant forms are used because
/// lookups may run on several threads at once.

/// Start size of the string buffer; grown on ERANGE up to `maximumBufferSize`.
private let initialBufferSize = 1024
private let maximumBufferSize = 1 << 20

func systemUserID(named name: String) -> UInt32? {
    lookUp { buffer, size in
        var record = passwd()
        var result: UnsafeMutablePointer<passwd>? = nil
        let status = getpwnam_r(name, &record, buffer, size, &result)
        return (status, result == nil ? nil : UInt32(record.pw_uid))
    }
}

func systemGroupID(named name: String) -> UInt32? {
    lookUp { buffer, size in
        var record = group()
        var result: UnsafeMutablePointer<group>? = nil
        let status = getgrnam_r(name, &record, buffer, size, &result)
        return (status, result == nil ? nil : UInt32(record.gr_gid))
    }
}

/// Calls `query` with ever larger buffers while it reports ERANGE.
private func lookUp(_ query: (UnsafeMutablePointer<CChar>, Int) -> (Int32, UInt32?)) -> UInt32? {
    var size = initialBufferSize
    while size <= maximumBufferSize {
        var buffer = [CChar](repeating: 0, count: size)
        let (status, value) = buffer.withUnsafeMutableBufferPointer { storage -> (Int32, UInt32?) in
            guard let base = storage.baseAddress else { return (EINVAL, nil) }
            return query(base, storage.count)
        }
        if status == ERANGE {
            size *= 2
            continue
        }
        return status == 0 ? value : nil
    }
    return nil
}
