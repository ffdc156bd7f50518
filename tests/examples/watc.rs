fn main() {
    let attack = std::env::args().nth(1).unwrap();
    let bytes = baton_tests::wat_component(&std::fs::read_to_string(attack).unwrap());
    std::fs::write(std::env::args().nth(2).unwrap(), bytes).unwrap();
}
