//! "No panic crosses the C boundary", checked over the sources: every
//! `extern "C"` function of `src/` must run its whole body inside the panic
//! boundary of `boundary.rs` (`ffi_call`, `ffi_void` or `ffi_value`), either
//! directly or through one private helper whose own body is such a call.
//!
//! What passes, per function body (items such as a `const` aside):
//! exactly one statement, which (inside any `unsafe { }`) is a call of
//! `ffi_call`/`ffi_void`/`ffi_value` whose arguments are closures, literals
//! or paths (a fallback such as `c"".as_ptr()` included), or a call of a
//! helper of the crate with plain arguments whose body passes the same rule.
//! Anything that runs before or after the boundary (a `let`, a second
//! statement, an argument that computes) fails, naming the function.

use std::collections::HashMap;
use std::path::Path;

use syn::{Block, Signature};
use syn::{Expr, ImplItem, Item, ItemFn, Stmt};

const BOUNDARY: [&str; 3] = ["ffi_call", "ffi_void", "ffi_value"];

/// A function of the crate: its signature and body.
struct Func {
    file: String,
    sig: Signature,
    block: Block,
}

fn collect(items: &[Item], file: &str, out: &mut Vec<Func>) {
    for item in items {
        match item {
            Item::Fn(ItemFn { sig, block, .. }) => out.push(Func {
                file: file.to_string(),
                sig: sig.clone(),
                block: (**block).clone(),
            }),
            Item::Mod(m) => {
                // `#[cfg(test)]` modules hold no exports worth checking, but
                // an export there would still be checked.
                if let Some((_, items)) = &m.content {
                    collect(items, file, out);
                }
            }
            Item::Impl(i) => {
                for it in &i.items {
                    if let ImplItem::Fn(f) = it {
                        out.push(Func {
                            file: file.to_string(),
                            sig: f.sig.clone(),
                            block: f.block.clone(),
                        });
                    }
                }
            }
            _ => {}
        }
    }
}

fn is_extern_c(sig: &Signature) -> bool {
    sig.abi
        .as_ref()
        .is_some_and(|abi| abi.name.as_ref().is_none_or(|n| n.value() == "C"))
}

/// The expression inside `unsafe { e }` / `{ e }` / `(e)`, repeatedly.
fn unwrap(mut e: &Expr) -> &Expr {
    loop {
        e = match e {
            Expr::Unsafe(u) if u.block.stmts.len() == 1 => match &u.block.stmts[0] {
                Stmt::Expr(inner, _) => inner,
                _ => return e,
            },
            Expr::Block(b) if b.block.stmts.len() == 1 => match &b.block.stmts[0] {
                Stmt::Expr(inner, _) => inner,
                _ => return e,
            },
            Expr::Paren(p) => &p.expr,
            _ => return e,
        }
    }
}

/// An argument that runs nothing that could panic before the boundary.
fn inert(e: &Expr) -> bool {
    match e {
        Expr::Closure(_) | Expr::Lit(_) | Expr::Path(_) => true,
        Expr::Reference(r) => inert(&r.expr),
        // `c"...".as_ptr()`: a method of a literal without arguments.
        Expr::MethodCall(m) => matches!(&*m.receiver, Expr::Lit(_)) && m.args.is_empty(),
        _ => false,
    }
}

fn callee(e: &Expr) -> Option<(String, &syn::punctuated::Punctuated<Expr, syn::Token![,]>)> {
    if let Expr::Call(c) = e
        && let Expr::Path(p) = &*c.func
    {
        let name = p.path.segments.last()?.ident.to_string();
        return Some((name, &c.args));
    }
    None
}

/// Why `block` does not run inside the boundary, if it does not.
fn violation(block: &Block, helpers: &HashMap<String, &Func>, depth: usize) -> Option<String> {
    let stmts: Vec<&Stmt> = block
        .stmts
        .iter()
        .filter(|s| !matches!(s, Stmt::Item(_)))
        .collect();
    let [Stmt::Expr(e, _)] = stmts.as_slice() else {
        return Some(format!(
            "the body has {} statements; it must be one call of {BOUNDARY:?}",
            stmts.len()
        ));
    };
    let e = unwrap(e);
    let Some((name, args)) = callee(e) else {
        return Some("the body is not a call of the boundary".into());
    };
    if let Some(i) = args.iter().position(|a| !inert(a)) {
        return Some(format!(
            "argument {} of `{name}` is computed outside the boundary",
            i + 1
        ));
    }
    if BOUNDARY.contains(&name.as_str()) {
        return None;
    }
    match helpers.get(&name) {
        Some(h) if depth < 2 => violation(&h.block, helpers, depth + 1)
            .map(|why| format!("through `{name}` ({}): {why}", h.file)),
        Some(_) => Some(format!("`{name}`: helpers nested too deep")),
        None => Some(format!(
            "`{name}` is neither the boundary nor a helper of the crate"
        )),
    }
}

fn sources() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path.display().to_string(), text));
            }
        }
    }
    out.sort();
    out
}

/// The check over the crate's sources.
fn check(sources: &[(String, String)]) -> (usize, Vec<String>) {
    let mut funcs = Vec::new();
    for (file, text) in sources {
        let parsed = syn::parse_file(text).unwrap_or_else(|e| panic!("{file}: {e}"));
        collect(&parsed.items, file, &mut funcs);
    }
    let helpers: HashMap<String, &Func> = funcs
        .iter()
        .filter(|f| !is_extern_c(&f.sig))
        .map(|f| (f.sig.ident.to_string(), f))
        .collect();
    let mut exports = 0;
    let mut bad = Vec::new();
    for f in funcs.iter().filter(|f| is_extern_c(&f.sig)) {
        exports += 1;
        if let Some(why) = violation(&f.block, &helpers, 0) {
            bad.push(format!("{} ({}): {why}", f.sig.ident, f.file));
        }
    }
    (exports, bad)
}

#[test]
fn every_export_runs_inside_the_panic_boundary() {
    let src = sources();
    let (exports, bad) = check(&src);
    // Every `extern "C" fn` written in the sources was found by the parser
    // (none hidden in a macro the check cannot see into).
    let written: usize = src
        .iter()
        .map(|(_, t)| t.matches("extern \"C\" fn ").count())
        .sum();
    assert_eq!(exports, written, "exports parsed vs written");
    assert!(exports >= 30, "only {exports} exports found");
    assert!(
        bad.is_empty(),
        "{} of {exports} exports run code outside the panic boundary:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// The check itself: bodies that step outside the boundary are refused.
#[test]
fn the_check_refuses_bodies_outside_the_boundary() {
    let file = |body: &str| {
        vec![(
            "x.rs".to_string(),
            format!(
                "fn helper(p: *mut u8) -> i32 {{ ffi_call(|| Ok(0)) }}\n\
                 fn worker(p: *mut u8) -> i32 {{ let x = 1; ffi_call(|| Ok(x)) }}\n\
                 #[unsafe(no_mangle)] pub unsafe extern \"C\" fn f(p: *mut u8) -> i32 {{ {body} }}"
            ),
        )]
    };
    for ok in [
        "ffi_call(|| Ok(0))",
        "boundary::ffi_void(|| drop(p));",
        "ffi_value(c\"\".as_ptr(), || 1)",
        "// SAFETY: x\n unsafe { helper(p) }",
        "const X: i32 = 1; ffi_value(0, || X)",
    ] {
        assert_eq!(check(&file(ok)).1, Vec::<String>::new(), "{ok}");
    }
    for bad in [
        "let out = unsafe { make(p) }; ffi_call(|| Ok(out))",
        "ffi_call(|| Ok(0)); 1",
        "p.len()",
        "ffi_value(compute(p), || 1)",
        "unsafe { worker(p) }",
        "unsafe { other(p) }",
        "helper(p.add(1))",
    ] {
        assert_eq!(check(&file(bad)).1.len(), 1, "{bad}");
    }
}
