fn main() {
    eprintln!("stampbook-agent: not yet wired");
    std::process::exit(2);
}
