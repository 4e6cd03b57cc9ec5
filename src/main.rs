fn main() {
    std::process::exit(tarjama::cli::main());
}
