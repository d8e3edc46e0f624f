//! `hakitd`: the hakit VRRP daemon (`hakitd --help` is its manual; `dist/hakitd.service` its
//! systemd unit). Installed by `cargo install --path .`.

fn main() -> std::process::ExitCode {
    hakit::cli::main("hakitd", None)
}
