//! keepalived.conf's `virtual_server` blocks (and `lvs_sync_daemon`) onto
//! [`VirtualServerConfig`] (feature `ipvs`): every keyword hakit runs is mapped, every other
//! one is refused by name with its file and line; the values are checked afterwards by
//! [`Config::validate`](crate::Config::validate), as for TOML.

use crate::keepalived_conf::Node;
use crate::runtime::lvs_sync::LvsSyncDaemonConfig;
use crate::runtime::virtual_server_config::{
    HttpGetConfig, MiscCheckConfig, RealServerConfig, TcpCheckConfig, UrlConfig,
    VirtualServerConfig,
};

use super::to_config::{command, flag, number, one, refuse, unsupported, MapError};

/// `IP PORT` as `IP:PORT` (`[v6]:PORT`).
fn address(node: &Node, args: &[String]) -> Result<String, MapError> {
    match args {
        [ip, port] if ip.contains(':') => Ok(format!("[{ip}]:{port}")),
        [ip, port] => Ok(format!("{ip}:{port}")),
        _ => refuse(node, "expects IP PORT"),
    }
}

/// `virtual_server IP PORT { ... }` or `virtual_server fwmark N { ... }`.
pub(crate) fn virtual_server(node: &Node) -> Result<VirtualServerConfig, MapError> {
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
        [k, _] if k == "group" => {
            return refuse(node, "virtual_server_group is not supported by hakit yet")
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
            "real_server" => vs.real_server.push(real_server(n)?),
            _ => unsupported(n)?,
        }
    }
    Ok(vs)
}

fn real_server(node: &Node) -> Result<RealServerConfig, MapError> {
    let address = match node.args.as_slice() {
        // A fwmark service's real server without a port (validation refuses it elsewhere).
        [ip] => ip.clone(),
        args => address(node, args)?,
    };
    let mut rs = RealServerConfig {
        address,
        weight: 1,
        notify_up: None,
        notify_down: None,
        tcp_check: Vec::new(),
        http_get: Vec::new(),
        ssl_get: Vec::new(),
        misc_check: Vec::new(),
    };
    for n in &node.children {
        match n.keyword.as_str() {
            "weight" => rs.weight = number(n)?,
            "notify_up" => rs.notify_up = Some(command(n)?),
            "notify_down" => rs.notify_down = Some(command(n)?),
            "TCP_CHECK" => {
                let mut c = TcpCheckConfig::default();
                for k in &n.children {
                    match k.keyword.as_str() {
                        "connect_ip" => c.connect_ip = Some(number(k)?),
                        "connect_port" => c.connect_port = Some(number(k)?),
                        "connect_timeout" => c.connect_timeout = Some(number(k)?),
                        "retry" | "nb_get_retry" => c.retry = Some(number(k)?),
                        "delay_before_retry" => c.delay_before_retry = Some(number(k)?),
                        _ => unsupported(k)?,
                    }
                }
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
    for k in &n.children {
        match k.keyword.as_str() {
            "url" => {
                let mut u = UrlConfig::default();
                for l in &k.children {
                    match l.keyword.as_str() {
                        "path" => u.path = one(l)?.to_string(),
                        "status_code" => u.status_code = Some(number(l)?),
                        _ => unsupported(l)?,
                    }
                }
                c.url.push(u);
            }
            "connect_ip" => c.connect_ip = Some(number(k)?),
            "connect_port" => c.connect_port = Some(number(k)?),
            "connect_timeout" => c.connect_timeout = Some(number(k)?),
            "virtualhost" => c.virtualhost = Some(one(k)?.to_string()),
            "retry" | "nb_get_retry" => c.retry = Some(number(k)?),
            "delay_before_retry" => c.delay_before_retry = Some(number(k)?),
            _ => unsupported(k)?,
        }
    }
    Ok(c)
}

/// `lvs_sync_daemon IFACE [inst] INSTANCE [id N] [maxlen N] [port N] [ttl N] [group ADDR]`
/// (in `global_defs`); the values are range-checked by the configuration's validation.
pub(crate) fn lvs_sync_daemon(node: &Node) -> Result<LvsSyncDaemonConfig, MapError> {
    const USAGE: &str = "expects IFACE INSTANCE [id N] [maxlen N] [port N] [ttl N] [group ADDR]";
    let mut args = node.args.iter();
    let (Some(iface), Some(mut instance)) = (args.next(), args.next()) else {
        return refuse(node, USAGE);
    };
    if ["id", "maxlen", "port", "ttl", "group"].contains(&instance.as_str()) {
        return refuse(
            node,
            "without a VRRP instance (keepalived then runs both sync daemons all the time): \
             not supported, name the instance",
        );
    }
    if instance == "inst" {
        let Some(named) = args.next() else {
            return refuse(node, USAGE);
        };
        instance = named;
    }
    let mut c = LvsSyncDaemonConfig {
        iface: iface.clone(),
        instance: instance.clone(),
        id: None,
        maxlen: None,
        port: None,
        ttl: None,
        group: None,
    };
    while let Some(key) = args.next() {
        let Some(value) = args.next() else {
            return refuse(node, format!("{key} needs a value ({USAGE})"));
        };
        let number = || {
            value
                .parse::<u32>()
                .or_else(|_| refuse(node, format!("{key} {value:?} is not a number")))
        };
        match key.as_str() {
            "id" => c.id = Some(number()?),
            "maxlen" => c.maxlen = Some(number()?),
            "port" => c.port = Some(number()?),
            "ttl" => c.ttl = Some(number()?),
            "group" => {
                c.group = Some(
                    value
                        .parse()
                        .or_else(|_| refuse(node, format!("group {value:?} is not an address")))?,
                )
            }
            _ => return refuse(node, format!("unknown option {key:?} ({USAGE})")),
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
  lvs_sync_daemon lo inst VI_1 id 9 maxlen 1400 port 8849 ttl 2 group 224.0.0.82
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
        let vs =
            crate::runtime::virtual_server_config::validate_all(&config.virtual_server).unwrap();
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
                urls: vec![("/healthz".into(), Some(200))],
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
            ("lo", "VI_1", Some(9))
        );
        assert_eq!(
            (sync.maxlen, sync.port, sync.ttl, sync.group),
            (
                Some(1400),
                Some(8849),
                Some(2),
                Some("224.0.0.82".parse().unwrap())
            )
        );
    }

    #[test]
    fn unsupported_keywords_are_refused_by_name_and_line() {
        for (text, keyword, line) in [
            ("virtual_server 192.0.2.1 80 {\n  real_server 198.51.100.2 80 {\n    DNS_CHECK {\n    }\n  }\n}\n", "DNS_CHECK", 3),
            ("virtual_server 192.0.2.1 80 {\n  virtualhost www\n}\n", "virtualhost", 2),
            ("virtual_server 192.0.2.1 {\n}\n", "virtual_server", 1),
            ("virtual_server fwmark x {\n}\n", "virtual_server", 1),
            ("global_defs {\n  lvs_sync_daemon lo VI_1 bogus 3\n}\n", "lvs_sync_daemon", 2),
            ("global_defs {\n  lvs_sync_daemon lo VI_1 port\n}\n", "lvs_sync_daemon", 2),
            ("global_defs {\n  lvs_sync_daemon lo VI_1 group x\n}\n", "lvs_sync_daemon", 2),
            ("global_defs {\n  lvs_sync_daemon lo\n}\n", "lvs_sync_daemon", 2),
            ("global_defs {\n  lvs_sync_daemon lo id 3\n}\n", "lvs_sync_daemon", 2),
            ("virtual_server 192.0.2.1 80 {\n  real_server 198.51.100.2 80 {\n    MISC_CHECK {\n      misc_dynamic\n    }\n  }\n}\n", "misc_dynamic", 4),
        ] {
            let file = Reader::new().read_str(text, "k.conf").unwrap();
            let e = to_config(&file).unwrap_err();
            assert_eq!((e.keyword.as_str(), e.location.line), (keyword, line), "{e}");
        }
    }
}
