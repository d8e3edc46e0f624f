//! vrrp-fsm
