//! Child processes that live and die with prompteval, and the pipes to them.

/// Makes reads of `fd` return `WouldBlock` instead of waiting.
#[cfg(unix)]
pub(crate) fn set_nonblocking(fd: std::os::fd::RawFd) -> std::io::Result<()> {
    // SAFETY: fcntl on a descriptor the caller owns; F_GETFL/F_SETFL touch no memory.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags == -1 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) == -1 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Waits until `fd` can be read (data, or its end); `false` when it cannot be waited on.
#[cfg(unix)]
pub(crate) fn wait_readable(fd: std::os::fd::RawFd) -> bool {
    let mut poll = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: `poll` points at one valid pollfd for the duration of the call.
        let n = unsafe { libc::poll(&mut poll, 1, -1) };
        if n > 0 {
            return poll.revents & libc::POLLNVAL == 0;
        }
        if n < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return false;
        }
    }
}
