//! keepalived.conf's `virtual_server` blocks (and `lvs_sync_daemon`) onto
//! [`VirtualServerConfig`] (feature `ipvs`): every keyword hakit runs is mapped, every other
//! one is refused by name with its file and line; the values are checked afterwards by
//! [`Config::validate`](crate::Config::validate), as for TOML.

use std::collections::BTreeMap;

use crate::keepalived_conf::Node;
use crate::runtime::config::TrackFileConfig;
use crate::runtime::lvs_sync::LvsSyncDaemonConfig;
use crate::runtime::virtual_server_config::{
    DnsCheckConfig, FileCheckConfig, HttpGetConfig, MiscCheckConfig, PingCheckConfig,
    RealServerConfig, SmtpCheckConfig, StatusCodeConfig, TcpCheckConfig, UdpCheckConfig, UrlConfig,
    VirtualServerConfig, VirtualServerGroupConfig,
};

use super::to_config::{command, flag, number, one, refuse, unsupported, MapError};

/// The lines of a checker block `$n` into `$c`: keepalived's connection options every
/// connecting checker shares (`connect_ip`, `connect_port`, `connect_timeout`, `retry`
/// (`nb_get_retry`), `delay_before_retry`), then the checker's own `$kw => $body` arms (with
/// the line bound to `$k`); anything else is refused by name.
macro_rules! checker_lines {
    ($n:expr, $c:ident, $k:ident, { $($kw:pat => $body:expr,)* }) => {
        for $k in &$n.children {
            match $k.keyword.as_str() {
                "connect_ip" => $c.connect_ip = Some(number($k)?),
                "connect_port" => $c.connect_port = Some(number($k)?),
                "connect_timeout" => $c.connect_timeout = Some(number($k)?),
                "retry" | "nb_get_retry" => $c.retry = Some(number($k)?),
                "delay_before_retry" => $c.delay_before_retry = Some(number($k)?),
                $($kw => $body,)*
                _ => unsupported($k)?,
            }
        }
    };
}

/// `IP PORT` as `IP:PORT` (`[v6]:PORT`).
fn address(node: &Node, args: &[String]) -> Result<String, MapError> {
    match args {
        [ip, port] if ip.contains(':') => Ok(format!("[{ip}]:{port}")),
        [ip, port] => Ok(format!("{ip}:{port}")),
        _ => refuse(node, "expects IP PORT"),
    }
}

/// `virtual_server IP PORT { ... }` or `virtual_server fwmark N { ... }`.
/// `files` are the `track_file` blocks a `FILE_CHECK` may name.
pub(crate) fn virtual_server(
    node: &Node,
    files: &BTreeMap<String, TrackFileConfig>,
) -> Result<VirtualServerConfig, MapError> {
    let mut vs = match node.args.as_slice() {
        [k, mark] if k == "fwmark" => {
            let mut vs = VirtualServerConfig::new("");
            vs.address = None;
            vs.fwmark = Some(
                mark.parse()
                    .or_else(|_| refuse(node, format!("{mark:?} is not a firewall mark")))?,
            );
            vs
        }
        [k, name] if k == "group" => {
            let mut vs = VirtualServerConfig::new("");
            vs.address = None;
            vs.group = Some(name.clone());
            vs
        }
        args => VirtualServerConfig::new(address(node, args)?),
    };
    for n in &node.children {
        match n.keyword.as_str() {
            "delay_loop" => vs.delay_loop = number(n)?,
            "lb_algo" | "lvs_sched" => vs.lb_algo = one(n)?.to_string(),
            "lb_kind" | "lvs_method" => vs.lb_kind = one(n)?.to_string(),
            "protocol" => vs.protocol = Some(one(n)?.to_string()),
            "persistence_timeout" => vs.persistence_timeout = Some(number(n)?),
            "persistence_granularity" => vs.persistence_granularity = Some(one(n)?.to_string()),
            "ops" => vs.ops = flag(n)?,
            "sorry_server" => vs.sorry_server = Some(address(n, &n.args)?),
            "sorry_server_inhibit" => vs.sorry_server_inhibit = flag(n)?,
            "quorum" => vs.quorum = number(n)?,
            "hysteresis" => vs.hysteresis = number(n)?,
            "quorum_up" => vs.quorum_up = Some(command(n)?),
            "quorum_down" => vs.quorum_down = Some(command(n)?),
            "alpha" => vs.alpha = flag(n)?,
            "omega" => vs.omega = flag(n)?,
            "inhibit_on_failure" => vs.inhibit_on_failure = flag(n)?,
            "ha_suspend" => vs.ha_suspend = flag(n)?,
            "retry" => vs.retry = Some(number(n)?),
            "delay_before_retry" => vs.delay_before_retry = Some(number(n)?),
            "virtualhost" => vs.virtualhost = Some(one(n)?.to_string()),
            "real_server" => vs.real_server.push(real_server(n, files)?),
            _ => unsupported(n)?,
        }
    }
    Ok(vs)
}

/// `virtual_server_group NAME { member lines }`: each line is checked here, so that a bad
/// one is refused with its file and line.
pub(crate) fn virtual_server_group(node: &Node) -> Result<VirtualServerGroupConfig, MapError> {
    let [name] = node.args.as_slice() else {
        return refuse(node, "expects one NAME");
    };
    let mut members = Vec::new();
    for n in &node.children {
        if !n.children.is_empty() {
            return refuse(n, "a member line has no block");
        }
        let line = std::iter::once(&n.keyword)
            .chain(&n.args)
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ");
        crate::runtime::virtual_server_group::expand_member(
            &line,
            ipvs_netlink::Protocol::Tcp,
            ipvs_netlink::Family::Inet,
        )
        .or_else(|e| refuse(n, e))?;
        members.push(line);
    }
    Ok(VirtualServerGroupConfig {
        name: name.clone(),
        members,
    })
}

fn real_server(
    node: &Node,
    files: &BTreeMap<String, TrackFileConfig>,
) -> Result<RealServerConfig, MapError> {
    let address = match node.args.as_slice() {
        // A fwmark service's real server without a port (validation refuses it elsewhere).
        [ip] => ip.clone(),
        args => address(node, args)?,
    };
    let mut rs = RealServerConfig::new(address);
    for n in &node.children {
        match n.keyword.as_str() {
            "weight" => rs.weight = number(n)?,
            "notify_up" => rs.notify_up = Some(command(n)?),
            "notify_down" => rs.notify_down = Some(command(n)?),
            "inhibit_on_failure" => rs.inhibit_on_failure = Some(flag(n)?),
            "SMTP_CHECK" => smtp_check(n, &mut rs.smtp_check)?,
            "FILE_CHECK" => rs.file_check.push(file_check(n, files)?),
            "DNS_CHECK" => {
                let mut c = DnsCheckConfig::default();
                checker_lines!(n, c, k, {
                    "type" => c.qtype = Some(one(k)?.to_string()),
                    "name" => c.name = Some(one(k)?.to_string()),
                });
                rs.dns_check.push(c);
            }
            "UDP_CHECK" => {
                let mut c = UdpCheckConfig::default();
                checker_lines!(n, c, k, {
                    "payload" => c.payload = Some(one(k)?.to_string()),
                    "require_reply" => match k.args.as_slice() {
                        [] => c.require_reply = true,
                        [hex] => c.reply = Some(hex.clone()),
                        _ => return refuse(k, "expects at most one HEX_STR"),
                    },
                });
                rs.udp_check.push(c);
            }
            "PING_CHECK" => {
                let mut c = PingCheckConfig::default();
                for k in &n.children {
                    match k.keyword.as_str() {
                        "connect_ip" => c.connect_ip = Some(number(k)?),
                        "connect_timeout" => c.connect_timeout = Some(number(k)?),
                        "retry" => c.retry = Some(number(k)?),
                        "delay_before_retry" => c.delay_before_retry = Some(number(k)?),
                        _ => unsupported(k)?,
                    }
                }
                rs.ping_check.push(c);
            }
            "TCP_CHECK" => {
                let mut c = TcpCheckConfig::default();
                checker_lines!(n, c, k, {});
                rs.tcp_check.push(c);
            }
            "HTTP_GET" => rs.http_get.push(http_get(n)?),
            "SSL_GET" => rs.ssl_get.push(http_get(n)?),
            "MISC_CHECK" => {
                let mut c = MiscCheckConfig::default();
                for k in &n.children {
                    match k.keyword.as_str() {
                        "misc_path" => c.misc_path = command(k)?,
                        "misc_timeout" => c.misc_timeout = Some(number(k)?),
                        "retry" => c.retry = Some(number(k)?),
                        "delay_before_retry" => c.delay_before_retry = Some(number(k)?),
                        _ => unsupported(k)?,
                    }
                }
                rs.misc_check.push(c);
            }
            _ => unsupported(n)?,
        }
    }
    Ok(rs)
}

/// An `HTTP_GET` or `SSL_GET` block.
fn http_get(n: &Node) -> Result<HttpGetConfig, MapError> {
    let mut c = HttpGetConfig::default();
    checker_lines!(n, c, k, {
            "url" => {
                let mut u = UrlConfig::default();
                for l in &k.children {
                    match l.keyword.as_str() {
                        "path" => u.path = one(l)?.to_string(),
                        "status_code" => {
                            if l.args.is_empty() {
                                return refuse(l, "expects status codes or ranges");
                            }
                            u.status_code = Some(StatusCodeConfig::List(l.args.join(" ")));
                        }
                        "digest" => u.digest = Some(one(l)?.to_string()),
                        _ => unsupported(l)?,
                    }
                }
                c.url.push(u);
            },
            "virtualhost" => c.virtualhost = Some(one(k)?.to_string()),
    });
    Ok(c)
}

/// A `FILE_CHECK` block: `track_file NAME` (a `track_file` block's file and weight) and
/// its own `weight W [reverse]`.
fn file_check(
    n: &Node,
    files: &BTreeMap<String, TrackFileConfig>,
) -> Result<FileCheckConfig, MapError> {
    let mut file = None;
    let mut own = None;
    for k in &n.children {
        match k.keyword.as_str() {
            "track_file" => {
                let name = one(k)?;
                match files.get(name) {
                    Some(f) => file = Some(f),
                    None => return refuse(k, format!("no track_file named {name:?}")),
                }
            }
            "weight" => {
                let reverse = match k.args.get(1).map(String::as_str) {
                    None | Some("noreverse") => false,
                    Some("reverse") => true,
                    Some(_) => return refuse(k, "expects W [reverse|noreverse]"),
                };
                let w: i32 = match k.args.first().map(|w| w.parse()) {
                    Some(Ok(w)) if w != i32::MIN && k.args.len() <= 2 => w,
                    _ => return refuse(k, "expects W [reverse|noreverse]"),
                };
                own = Some((w, reverse));
            }
            _ => unsupported(k)?,
        }
    }
    let Some(f) = file else {
        return refuse(n, "has no track_file");
    };
    let (weight, reverse) = own.unwrap_or((f.weight, false));
    Ok(FileCheckConfig {
        path: f.path.clone(),
        weight,
        reverse,
    })
}

/// An `SMTP_CHECK` block: its own connection options, or keepalived's older `host { }`
/// sub-blocks, each of which becomes one check (all must pass, as keepalived's host list).
fn smtp_check(n: &Node, out: &mut Vec<SmtpCheckConfig>) -> Result<(), MapError> {
    let mut c = SmtpCheckConfig::default();
    let mut hosts = Vec::new();
    checker_lines!(n, c, k, {
        "bindto" => c.bindto = Some(number(k)?),
        "helo_name" => c.helo_name = Some(one(k)?.to_string()),
        "host" => hosts.push(k),
    });
    if hosts.is_empty() {
        out.push(c);
        return Ok(());
    }
    for h in hosts {
        let mut one_host = c.clone();
        for k in &h.children {
            match k.keyword.as_str() {
                "connect_ip" => one_host.connect_ip = Some(number(k)?),
                "connect_port" => one_host.connect_port = Some(number(k)?),
                "bindto" => one_host.bindto = Some(number(k)?),
                "connect_timeout" => one_host.connect_timeout = Some(number(k)?),
                _ => unsupported(k)?,
            }
        }
        out.push(one_host);
    }
    Ok(())
}

/// `lvs_sync_daemon IFACE INSTANCE [id N]` (in `global_defs`).
pub(crate) fn lvs_sync_daemon(node: &Node) -> Result<LvsSyncDaemonConfig, MapError> {
    let [iface, instance, options @ ..] = node.args.as_slice() else {
        return refuse(
            node,
            "expects IFACE INSTANCE [id N] [maxlen N] [port N] [ttl N] [group IP]",
        );
    };
    let mut c = LvsSyncDaemonConfig {
        iface: iface.clone(),
        instance: instance.clone(),
        id: 0,
        maxlen: None,
        port: None,
        ttl: None,
        group: None,
    };
    let mut words = options.iter();
    while let Some(k) = words.next() {
        let Some(v) = words.next() else {
            return refuse(node, format!("{k} needs a value"));
        };
        let n = || {
            v.parse::<u32>()
                .or_else(|_| refuse(node, format!("{k} {v:?} is not a number")))
        };
        match k.as_str() {
            "id" => c.id = n()?,
            "maxlen" => c.maxlen = Some(n()?),
            "port" => c.port = Some(n()?),
            "ttl" => c.ttl = Some(n()?),
            "group" => {
                c.group = Some(
                    v.parse()
                        .or_else(|_| refuse(node, format!("group {v:?} is not an address")))?,
                )
            }
            _ => return refuse(node, format!("unknown option {k:?}")),
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use crate::keepalived_conf::{to_config, Reader};
    use crate::runtime::virtual_server_config::CheckKind;

    const CONF: &str = r#"
global_defs {
  lvs_sync_daemon lo VI_1 id 9 maxlen 1400 port 8849 ttl 2 group 239.1.2.3
}
vrrp_instance VI_1 {
  interface lo
  virtual_router_id 51
  priority 100
  virtual_ipaddress {
    192.0.2.1/32
  }
}
virtual_server 192.0.2.1 80 {
  delay_loop 3
  lb_algo wrr
  lb_kind DR
  persistence_timeout 60
  protocol TCP
  quorum 2
  hysteresis 1
  sorry_server 198.51.100.9 80
  quorum_down "/bin/echo down"
  inhibit_on_failure
  ha_suspend
  real_server 198.51.100.2 80 {
    weight 3
    notify_down "/bin/echo rs down"
    TCP_CHECK {
      connect_timeout 2
      retry 2
    }
  }
  real_server 198.51.100.3 80 {
    HTTP_GET {
      url {
        path /healthz
        status_code 200
      }
      connect_port 8080
    }
    MISC_CHECK {
      misc_path "/usr/local/bin/check 198.51.100.3"
    }
  }
}
virtual_server fwmark 5 {
  lb_algo rr
}
"#;

    #[test]
    fn keepalived_conf_virtual_servers_validate_into_the_spec() {
        let file = Reader::new().read_str(CONF, "k.conf").unwrap();
        let (config, warnings) = to_config(&file).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        let vs = crate::runtime::virtual_server_config::validate_all(
            &config.virtual_server,
            &config.virtual_server_group,
        )
        .unwrap();
        assert_eq!(vs.len(), 2);
        assert_eq!(vs[0].service.scheduler.as_str(), "wrr");
        assert_eq!(vs[0].forward, ipvs_netlink::ForwardMethod::DirectRoute);
        assert_eq!(vs[0].service.timeout, 60);
        assert_eq!((vs[0].quorum, vs[0].hysteresis), (2, 1));
        assert!(vs[0].inhibit_on_failure && vs[0].ha_suspend);
        assert_eq!(vs[0].quorum_down.as_deref(), Some("/bin/echo down"));
        assert_eq!(vs[0].sorry_server, Some("198.51.100.9:80".parse().unwrap()));
        let rs = &vs[0].real_servers;
        assert_eq!(rs[0].weight, 3);
        assert_eq!(rs[0].notify_down.as_deref(), Some("/bin/echo rs down"));
        assert_eq!(rs[0].checks[0].retry, 2);
        assert_eq!(
            rs[1].checks[0].kind,
            CheckKind::Http {
                addr: "198.51.100.3:8080".parse().unwrap(),
                tls: false,
                urls: vec![crate::runtime::virtual_server_config::UrlCheck {
                    path: "/healthz".into(),
                    status: vec![200..=200],
                    digest: None,
                }],
                virtualhost: None,
            }
        );
        assert_eq!(
            rs[1].checks[1].kind,
            CheckKind::Misc("/usr/local/bin/check 198.51.100.3".into())
        );
        assert_eq!(
            vs[1].service.key,
            ipvs_netlink::ServiceKey::fwmark(ipvs_netlink::Family::Inet, 5)
        );
        // --print-toml's text reads back as the same configuration.
        let text = toml::to_string(&config).unwrap();
        assert_eq!(crate::Config::from_toml(&text).unwrap(), config);
        let sync = config.lvs_sync_daemon.unwrap();
        assert_eq!(
            (sync.iface.as_str(), sync.instance.as_str(), sync.id),
            ("lo", "VI_1", 9)
        );
        assert_eq!(
            (sync.maxlen, sync.port, sync.ttl, sync.group),
            (
                Some(1400),
                Some(8849),
                Some(2),
                Some("239.1.2.3".parse().unwrap())
            )
        );
    }

    #[test]
    fn groups_and_every_checker_keepalived_samples_use() {
        let text = r#"
virtual_server_group VSG {
  10.0.0.1 8080
  192.168.200.3-5 80
  fwmark 1
}
virtual_server group VSG {
  delay_loop 6
  protocol TCP
  virtualhost www.example
  real_server 172.16.1.11 25 {
    inhibit_on_failure
    SMTP_CHECK {
      helo_name foo.bar.com
      connect_timeout 10
      host {
        connect_ip 172.16.1.11
      }
      host {
        connect_ip 192.168.155.10
        connect_port 587
        bindto 172.16.1.2
      }
    }
    UDP_CHECK {
      payload 6869
      require_reply 6f6b
    }
    PING_CHECK {
      retry 4
    }
    DNS_CHECK {
      type A
      name www.example
    }
    SSL_GET {
      url {
        path /
        status_code 200-299 503
        digest 9b3a0c85a887a256d6939da88aabd8cd
      }
    }
  }
}
"#;
        let file = Reader::new().read_str(text, "k.conf").unwrap();
        let (config, _) = to_config(&file).unwrap();
        assert_eq!(
            config.virtual_server_group[0].members,
            ["10.0.0.1 8080", "192.168.200.3-5 80", "fwmark 1"]
        );
        let vs = crate::runtime::virtual_server_config::validate_all(
            &config.virtual_server,
            &config.virtual_server_group,
        )
        .unwrap();
        assert_eq!(vs[0].keys.len(), 5);
        let rs = &vs[0].real_servers[0];
        assert_eq!(rs.inhibit_on_failure, Some(true));
        let kinds: Vec<&CheckKind> = rs.checks.iter().map(|c| &c.kind).collect();
        // Two SMTP hosts (all must pass), then UDP, DNS, PING and SSL_GET in the spec's order.
        assert!(
            matches!(kinds[0], CheckKind::Http { tls: true, virtualhost: Some(h), urls, .. }
            if h == "www.example" && urls[0].status == vec![200..=299, 503..=503])
        );
        assert_eq!(
            kinds[1],
            &CheckKind::Smtp {
                addr: "172.16.1.11:25".parse().unwrap(),
                bind: None,
                helo_name: Some("foo.bar.com".into()),
            }
        );
        assert_eq!(
            kinds[2],
            &CheckKind::Smtp {
                addr: "192.168.155.10:587".parse().unwrap(),
                bind: Some("172.16.1.2".parse().unwrap()),
                helo_name: Some("foo.bar.com".into()),
            }
        );
        assert!(matches!(kinds[3], CheckKind::Dns { qtype: 1, .. }));
        assert!(
            matches!(kinds[4], CheckKind::Udp { require_reply: true, reply: Some(r), .. } if r == "6f6b")
        );
        assert_eq!(kinds[5], &CheckKind::Ping("172.16.1.11".parse().unwrap()));
        assert_eq!(rs.checks[5].retry, 4);
        // --print-toml's text reads back as the same configuration.
        let text = toml::to_string(&config).unwrap();
        assert_eq!(crate::Config::from_toml(&text).unwrap(), config);
    }

    #[test]
    fn file_checks_take_their_track_file_s_file_and_weight() {
        let text = "track_file maint {\n  file /run/maint\n  weight 0\n}\n\
                    vrrp_track_file legacy {\n  file /run/legacy\n  weight 3\n}\n\
                    virtual_server 192.0.2.1 80 {\n  real_server 198.51.100.2 80 {\n\
                    FILE_CHECK {\n track_file maint\n }\n\
                    FILE_CHECK {\n track_file legacy\n weight -2 reverse\n }\n  }\n}\n";
        let file = Reader::new().read_str(text, "k.conf").unwrap();
        let (config, _) = to_config(&file).unwrap();
        let checks = &config.virtual_server[0].real_server[0].file_check;
        assert_eq!(
            (checks[0].path.as_str(), checks[0].weight, checks[0].reverse),
            ("/run/maint", 0, false)
        );
        assert_eq!(
            (checks[1].path.as_str(), checks[1].weight, checks[1].reverse),
            ("/run/legacy", -2, true)
        );
    }

    #[test]
    fn unsupported_keywords_are_refused_by_name_and_line() {
        for (text, keyword, line) in [
            ("virtual_server 192.0.2.1 80 {\n  real_server 198.51.100.2 80 {\n    FILE_CHECK {\n    }\n  }\n}\n", "FILE_CHECK", 3),
            ("virtual_server 192.0.2.1 80 {\n  real_server 198.51.100.2 80 {\n    FILE_CHECK {\n      track_file nope\n    }\n  }\n}\n", "track_file", 4),
            ("track_file f {\n  file /run/f\n}\nvirtual_server 192.0.2.1 80 {\n  real_server 198.51.100.2 80 {\n    FILE_CHECK {\n      track_file f\n      weight 2 sideways\n    }\n  }\n}\n", "weight", 8),
            ("virtual_server 192.0.2.1 80 {\n  real_server 198.51.100.2 80 {\n    BFD_CHECK {\n    }\n  }\n}\n", "BFD_CHECK", 3),
            ("virtual_server 192.0.2.1 80 {\n  real_server 198.51.100.2 80 {\n    UDP_CHECK {\n      min_reply_length 4\n    }\n  }\n}\n", "min_reply_length", 4),
            ("virtual_server_group G {\n  10.0.0.9-3 80\n}\n", "10.0.0.9-3", 2),
            ("virtual_server_group G {\n  fwmark 0\n}\n", "fwmark", 2),
            ("virtual_server 192.0.2.1 {\n}\n", "virtual_server", 1),
            ("virtual_server fwmark x {\n}\n", "virtual_server", 1),
            ("virtual_server 192.0.2.1 80 {\n  real_server 198.51.100.2 80 {\n    MISC_CHECK {\n      misc_dynamic\n    }\n  }\n}\n", "misc_dynamic", 4),
        ] {
            let file = Reader::new().read_str(text, "k.conf").unwrap();
            let e = to_config(&file).unwrap_err();
            assert_eq!((e.keyword.as_str(), e.location.line), (keyword, line), "{e}");
        }
    }
}
