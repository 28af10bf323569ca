//! The server's processes: found by the listening port (and, for a master process such as
//! nginx's, its children), and their resident memory, from `/proc`.

use std::fs;

/// Resident set size of process `pid` in bytes (`VmRSS` of `/proc/<pid>/status`), `None` when
/// the process is gone or unreadable.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Sum of the resident set sizes of `pids` in bytes; `None` when none of them can be read.
pub fn total_rss_bytes(pids: &[u32]) -> Option<u64> {
    pids.iter()
        .filter_map(|&pid| rss_bytes(pid))
        .fold(None, |sum, rss| Some(sum.unwrap_or(0) + rss))
}

/// The children of process `parent` (`PPid` of `/proc/<pid>/status`), in pid order: the workers
/// of an nginx master, which hold the connections.
pub fn children_of(parent: u32) -> Vec<u32> {
    let mut children: Vec<u32> = fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| parent_of(*pid) == Some(parent))
        .collect();
    children.sort_unstable();
    children
}

/// The parent of process `pid`, from its `/proc/<pid>/status`.
fn parent_of(pid: u32) -> Option<u32> {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))?
        .trim()
        .parse()
        .ok()
}

/// The process listening on TCP `port` (IPv4 or IPv6): the socket's inode from
/// `/proc/net/tcp{,6}`, then the process holding that inode among `/proc/<pid>/fd`.
pub fn pid_listening_on(port: u16) -> Option<u32> {
    let inode = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|path| fs::read_to_string(path).ok())
        .find_map(|table| listening_inode(&table, port))?;
    let target = format!("socket:[{inode}]");
    fs::read_dir("/proc")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| {
            fs::read_dir(format!("/proc/{pid}/fd"))
                .into_iter()
                .flatten()
                .filter_map(Result::ok)
                .any(|fd| {
                    fs::read_link(fd.path()).is_ok_and(|l| l.to_str() == Some(target.as_str()))
                })
        })
}

/// Inode of the socket listening (state `0A`) on `port` in a `/proc/net/tcp` table.
fn listening_inode(table: &str, port: u16) -> Option<u64> {
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let local_port = fields.get(1)?.rsplit(':').next()?;
        let listening = *fields.get(3)? == "0A";
        (listening && u16::from_str_radix(local_port, 16).ok()? == port)
            .then(|| fields.get(9)?.parse().ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_listening_socket_of_a_port() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0\n\
   1: 0100007F:1F90 0100017F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0000000000000000 20 4 30 10 -1\n";
        assert_eq!(listening_inode(table, 8080), Some(4242));
        assert_eq!(listening_inode(table, 8081), None);
    }

    #[test]
    fn finds_its_own_listener_and_memory() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(pid_listening_on(port), Some(std::process::id()));
        assert!(rss_bytes(std::process::id()).unwrap() > 0);
    }

    #[test]
    fn finds_a_child_and_sums_memory() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let children = children_of(std::process::id());
        assert!(children.contains(&child.id()), "{children:?}");
        // A process that is gone counts for nothing; none readable at all is unknown.
        let alone = rss_bytes(child.id()).unwrap();
        assert_eq!(total_rss_bytes(&[child.id(), u32::MAX]), Some(alone));
        assert_eq!(total_rss_bytes(&[u32::MAX]), None);
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
