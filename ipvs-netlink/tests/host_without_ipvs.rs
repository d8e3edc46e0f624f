//! On a kernel without IPVS (like the CI host) opening a handle fails with the typed
//! `FamilyNotFound` error; with IPVS it succeeds. Either way the outcome is checked against
//! what the kernel exposes in /proc.
use ipvs_netlink::{Error, IpvsHandle};

#[test]
fn family_not_found_without_ipvs() {
    let result = IpvsHandle::new();
    // Resolving the family may autoload ip_vs, so look at /proc afterwards.
    let ipvs_present = std::path::Path::new("/proc/net/ip_vs").exists();
    match result {
        Err(Error::FamilyNotFound) => {
            assert!(
                !ipvs_present,
                "IPVS is present but the family did not resolve"
            );
            let msg = Error::FamilyNotFound.to_string();
            assert!(msg.contains("IPVS"), "{msg}");
        }
        Ok(h) => assert!(
            ipvs_present && h.family_id() != 0,
            "resolved without /proc/net/ip_vs"
        ),
        Err(e) => panic!("unexpected error: {e}"),
    }
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "current_thread")]
async fn async_handle_reports_the_same_error() {
    let result = ipvs_netlink::AsyncIpvsHandle::new().await;
    let ipvs_present = std::path::Path::new("/proc/net/ip_vs").exists();
    match result {
        Err(Error::FamilyNotFound) => assert!(!ipvs_present),
        Ok(_) => assert!(ipvs_present),
        Err(e) => panic!("unexpected error: {e}"),
    }
}
