//! keepalived's `bind_if` and `fwmark` on real sockets: a policy rule in a private network
//! namespace rejects marked packets, so only a probe that really carries the mark fails.

mod common;

use std::time::Duration;

use common::*;
use healthcheck::*;

const T: Duration = Duration::from_secs(2);

fn ip(args: &[&str]) {
    let st = std::process::Command::new("ip")
        .args(args)
        .status()
        .unwrap();
    assert!(st.success(), "ip {args:?}");
}

#[test]
fn fwmark_and_bind_interface_are_applied() {
    in_private_netns(|| async {
        // This thread's namespace; `ip` inherits it.
        // The local table rule (pref 0) would match loopback traffic first: move it after ours.
        ip(&["rule", "add", "pref", "10", "fwmark", "0x10", "prohibit"]);
        ip(&["rule", "del", "pref", "0"]);
        ip(&["rule", "add", "pref", "100", "lookup", "local"]);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                drop(s);
            }
        });
        let marked = SocketOptions {
            fwmark: Some(0x10),
            ..Default::default()
        };
        let other_mark = SocketOptions {
            fwmark: Some(0x20),
            ..Default::default()
        };

        TcpCheck::new(addr).check(T).await.unwrap();
        TcpCheck::new(addr)
            .socket_options(other_mark.clone())
            .check(T)
            .await
            .unwrap();
        let err = TcpCheck::new(addr)
            .socket_options(marked.clone())
            .check(T)
            .await
            .unwrap_err();
        assert!(matches!(err, CheckError::Connect { .. }), "{err}");

        let echo = udp_echo().await;
        UdpCheck::new(echo, b"x".to_vec())
            .require_reply(None)
            .check(T)
            .await
            .unwrap();
        let err = UdpCheck::new(echo, b"x".to_vec())
            .socket_options(marked.clone())
            .require_reply(None)
            .check(T)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                CheckError::Unreachable | CheckError::Connect { .. } | CheckError::Io { .. }
            ),
            "{err}"
        );

        let http = HttpCheck::new(addr, vec![HttpUrl::new("/")]).socket_options(marked);
        assert!(matches!(
            http.check(T).await,
            Err(CheckError::Connect { .. })
        ));

        // bind_if: lo works, a missing interface is a connect error.
        let lo = SocketOptions {
            interface: Some("lo".into()),
            ..Default::default()
        };
        TcpCheck::new(addr)
            .socket_options(lo.clone())
            .check(T)
            .await
            .unwrap();
        UdpCheck::new(echo, b"x".to_vec())
            .socket_options(lo)
            .require_reply(None)
            .check(T)
            .await
            .unwrap();
        let missing = SocketOptions {
            interface: Some("nosuchif0".into()),
            ..Default::default()
        };
        let err = TcpCheck::new(addr)
            .socket_options(missing.clone())
            .check(T)
            .await
            .unwrap_err();
        assert!(matches!(err, CheckError::Connect { .. }), "{err}");
        let err = DnsCheck::new(echo, ".", dns_rtype::SOA)
            .unwrap()
            .socket_options(missing)
            .check(T)
            .await
            .unwrap_err();
        assert!(matches!(err, CheckError::Connect { .. }), "{err}");
    });
}
