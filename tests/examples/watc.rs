//! Wraps a hostile case's WAT (functions defining `$attack`, plus any tables or
//! memories) into a component of the Baton world, as the suite does at test time, so
//! a case can be tried by hand:
//!
//! ```sh
//! cargo run -p baton-tests --example watc attack.wat attack.wasm
//! host invoke attack.wasm --input '{}'
//! ```

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(input), Some(output)) = (args.next(), args.next()) else {
        eprintln!("usage: watc ATTACK.wat OUT.wasm");
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(&input).unwrap_or_else(|e| {
        eprintln!("cannot read {input}: {e}");
        std::process::exit(2);
    });
    let bytes = baton_tests::wat_component(&text);
    if let Err(e) = std::fs::write(&output, bytes) {
        eprintln!("cannot write {output}: {e}");
        std::process::exit(1);
    }
}
