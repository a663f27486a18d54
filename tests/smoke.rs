mod common;
use common::*;
use wsmachine::*;

#[test]
fn echo_roundtrip() {
    let mut p = Pair::new();
    p.client.send("hello").unwrap();
    p.client.send(vec![1u8, 2, 3]).unwrap();
    let big = vec![7u8; 100_000];
    p.client.send(big.clone()).unwrap();
    let (_, se) = p.run();
    assert_eq!(
        summaries(&se)[..2],
        ["text:hello".to_string(), "binary:[1, 2, 3]".to_string()]
    );
    match &se[2] {
        Event::Message(Message::Binary(b)) => assert_eq!(&b[..], &big[..]),
        e => panic!("{e:?}"),
    }
    p.server.send("back").unwrap();
    p.client.close(CloseCode::NORMAL, "bye").unwrap();
    let (ce, se) = p.run();
    println!("{:?}\n{:?}", summaries(&ce), summaries(&se));
    assert!(p.server.is_finished());
    p.client.feed_eof();
    let ce2 = drain(&mut p.client);
    println!("{:?}", summaries(&ce2));
    assert!(p.client.is_finished());
}
