fn main() {
    std::process::exit(lvsync::cli::main());
}
