//! `host[:port]` text (layer: resolver): split into host and port, and
//! written back. It must not resolve anything.

/// Splits `host[:port]` (an IPv6 host in brackets: `[::1]:50051`) into
/// the host, without brackets, and the port, `default_port` if none is
/// written. Refuses an empty host, a path or query, a bad port and a bare
/// IPv6 host, naming the problem.
pub(super) fn split_host_port(text: &str, default_port: u16) -> Result<(String, u16), String> {
    if text.is_empty() {
        return Err("no host".to_owned());
    }
    if text.contains('/') || text.contains('?') {
        return Err("a target may not carry a path".to_owned());
    }
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("unclosed '[' in IPv6 host")?;
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => return Err(format!("unexpected text {after:?} after IPv6 host")),
        }
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') => (host, Some(port)),
            Some(_) => {
                return Err(format!(
                    "an IPv6 host must be written in brackets ([{text}] or [host]:port)"
                ));
            }
            None => (text, None),
        }
    };
    if host.is_empty() {
        return Err("no host".to_owned());
    }
    let port = match port {
        Some(port) => port
            .parse::<u16>()
            .map_err(|_| format!("port {port:?} is not a number from 0 to 65535"))?,
        None => default_port,
    };
    Ok((host.to_owned(), port))
}

/// `host:port`, with an IPv6 host in brackets.
pub(super) fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_joins() {
        for (text, host, port, joined) in [
            ("example.com", "example.com", 443, "example.com:443"),
            ("example.com:9", "example.com", 9, "example.com:9"),
            ("[::1]", "::1", 443, "[::1]:443"),
            ("[::1]:7", "::1", 7, "[::1]:7"),
            ("1.2.3.4:0", "1.2.3.4", 0, "1.2.3.4:0"),
        ] {
            let split = split_host_port(text, 443).unwrap();
            assert_eq!(split, (host.to_owned(), port), "{text}");
            assert_eq!(join_host_port(&split.0, split.1), joined);
        }
    }

    #[test]
    fn refuses_naming_the_problem() {
        for (text, problem) in [
            ("", "no host"),
            (":1", "no host"),
            ("[]:1", "no host"),
            ("x:1/path", "path"),
            ("x?q", "path"),
            ("x:99999", "port \"99999\""),
            ("x:", "port \"\""),
            ("::1:5", "brackets"),
            ("[::1", "unclosed"),
            ("[::1]x", "after IPv6 host"),
        ] {
            let reason = split_host_port(text, 443).unwrap_err();
            assert!(reason.contains(problem), "{text}: {reason}");
        }
    }
}
