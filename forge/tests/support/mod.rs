pub mod responder;
