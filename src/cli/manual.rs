//! The man-page-like part of `--help`: what the daemon is, its signals, files, environment,
//! exit status and examples.

/// DESCRIPTION: `--help`'s long about.
pub const DESCRIPTION: &str = "\
A VRRP failover daemon (keepalived's vrrp_instance semantics) built from the hakit crates.

It runs one instance from the flags, or many instances and sync groups from a TOML file \
(--config), holds their virtual addresses while Master, sends gratuitous ARPs and unsolicited \
NAs, runs keepalived's notify scripts and trackers, and prints one JSON line per state \
transition on stdout. Logs go to stderr. keepalived's defaults apply: VRRPv2, 1 s adverts, \
preemption on, 5 gratuitous ARPs.";

/// SIGNALS, FILES, ENVIRONMENT, EXIT STATUS, EXAMPLES: after the flags in `--help`.
pub const SECTIONS: &str = "\
SIGNALS:
  SIGTERM, SIGINT   Stop: every Master sends priority 0, VIPs, routes and rules are removed.
  SIGHUP            Re-read --config and apply it without restarting instances.
  SIGUSR1           Write keepalived's data dump (--data-file, /tmp/keepalived.data).
  SIGUSR2           Write keepalived's stats dump (--stats-file, /tmp/keepalived.stats).
  SIGRTMIN+2        keepalived's JSON signal: the JSON dump (--json-file, /tmp/keepalived.json).

FILES:
  --config FILE.toml   instances and sync groups (every key: examples/minimal_failover/sample.toml)
  --pid-file PATH      the daemon's PID, written atomically, removed at exit
  dist/hakitd.service  a hardened systemd unit (Type=notify)

ENVIRONMENT:
  NOTIFY_SOCKET        systemd's notification socket: READY=1 once every instance has started,
                       STOPPING=1 on shutdown
  WATCHDOG_USEC        systemd's watchdog: WATCHDOG=1 at half this interval, after the VRRP
                       thread answered a status query
  RUST_LOG             log filter (default info)

EXIT STATUS:
  0  stopped by SIGTERM/SIGINT    1  missing privileges or a runtime failure
  2  a bad flag or configuration (nothing touched on the network)

EXAMPLES:
  hakitd --iface eth0 --vrid 51 --priority 150 --vip 10.0.0.100/24
  hakitd --config /etc/hakit/hakit.toml --metrics-listen 127.0.0.1:9650
  hakitd --config /etc/hakit/hakit.toml --config-test";
