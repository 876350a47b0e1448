fn main() -> std::process::ExitCode {
    catctl::main()
}
