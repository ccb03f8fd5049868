//! `gauntlet new`: a starter plugin for a track, in Rust, Python,
//! JavaScript, C or Go, that builds into a component of the track's world
//! and loads in gauntlet as it is (every function a stub that traps).
//!
//! The stubs are generated from the track's WIT (wit-parser), never written
//! per track: every exported function with its parameters, its types as the
//! language's bindings name them, and its doc comment. The C and Go stubs
//! come from the bindings themselves (`native`).

mod native;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use wit_parser::{
    Function, FunctionKind, InterfaceId, Resolve, Type, TypeDefKind, TypeOwner, WorldId, WorldItem,
    WorldKey,
};

use crate::error::{Error, Result};
use crate::langs::{COMPONENTIZE_JS, COMPONENTIZE_PY, MANIFEST};
use crate::toolchain::WASM_TARGET;
use crate::track::Track;

/// The languages `gauntlet new` writes a starter in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// A crate with wit-bindgen, built by cargo for `wasm32-wasip2`.
    Rust,
    /// `app.py`, built by gauntlet with componentize-py.
    Python,
    /// `app.js`, built by gauntlet with ComponentizeJS.
    Js,
    /// `<interface>.c`, built by gauntlet with `zig cc` and the track's C
    /// bindings.
    C,
    /// `<interface>.go`, built by gauntlet with Go and the track's Go
    /// bindings.
    Go,
}

/// The wit-bindgen a Rust starter depends on: the version the example
/// plugins are built with.
const WIT_BINDGEN: &str = "0.63";

/// Writes the starter of `track` in `lang` into `dir`, which must be
/// missing or empty, and returns the files written (relative to `dir`).
pub fn write(track: &Track, lang: Lang, dir: &Path) -> Result<Vec<PathBuf>> {
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(|source| Error::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        if entries.next().is_some() {
            return Err(Error::Usage(format!(
                "{} is not empty: `gauntlet new` writes a starter into a new or empty directory",
                dir.display()
            )));
        }
    }
    let files = files(track, lang, &dir_name(dir))?;
    crate::track::write_files(dir, files.iter().map(|(path, text)| (path, text)))?;
    Ok(files.into_iter().map(|(path, _)| path).collect())
}

/// The last component of `dir`, as the user named it.
fn dir_name(dir: &Path) -> String {
    let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    absolute
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The starter's files: (path relative to its directory, contents). `name`
/// is the directory's name (a Rust starter's package is named after it).
pub fn files(track: &Track, lang: Lang, name: &str) -> Result<Vec<(PathBuf, String)>> {
    let contract = Contract::of(track).map_err(Error::Internal)?;
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    for (path, text) in track.wit {
        files.push((Path::new("wit").join(path), text.to_string()));
    }
    match lang {
        Lang::Rust => {
            let package = package_name(name, track);
            files.push(("Cargo.toml".into(), cargo_toml(&package)));
            files.push(("src/lib.rs".into(), contract.rust_lib()?));
            files.push((".gitignore".into(), "/target/\n".into()));
            files.push(("README.md".into(), readme_rust(track, &contract, &package)));
        }
        Lang::Python => {
            files.push((MANIFEST.into(), manifest(track, "python", Some("app.py"))));
            files.push(("app.py".into(), contract.python_app()?));
            files.push((
                ".gitignore".into(),
                "# Outputs of a build by hand (see README.md).\n*.wasm\n__pycache__/\n/bindings/\n"
                    .into(),
            ));
            files.push(("README.md".into(), readme_python(track, &contract)));
        }
        Lang::Js => {
            files.push((MANIFEST.into(), manifest(track, "js", Some("app.js"))));
            files.push(("app.js".into(), contract.js_app()?));
            files.push((
                ".gitignore".into(),
                "# Outputs of a build by hand.\n*.wasm\nnode_modules/\n".into(),
            ));
            files.push(("README.md".into(), readme_js(track, &contract)));
        }
        Lang::C => {
            let source = native::source_name(&contract, "c");
            files.push((MANIFEST.into(), manifest(track, "c", None)));
            let stubs = native::c_source(&contract).map_err(Error::Internal)?;
            files.push((source.clone().into(), stubs));
            files.push((
                ".gitignore".into(),
                "# Outputs of a build by hand (see README.md).\n*.wasm\n/bindings/\n".into(),
            ));
            files.push((
                "README.md".into(),
                native::readme_c(track, &contract, &source),
            ));
        }
        Lang::Go => {
            let source = native::source_name(&contract, "go");
            files.push((MANIFEST.into(), manifest(track, "go", None)));
            let (stubs, package) = native::go_source(&contract).map_err(Error::Internal)?;
            files.push((source.clone().into(), stubs));
            files.push((
                ".gitignore".into(),
                "# Outputs of a build by hand (see README.md).\n*.wasm\n/build/\n/bindings/\n"
                    .into(),
            ));
            files.push((
                "README.md".into(),
                native::readme_go(track, &contract, &source, &package),
            ));
        }
    }
    Ok(files)
}

/// What a starter needs of the track's world.
struct Contract<'a> {
    track: &'a Track,
    resolve: Resolve,
    world: WorldId,
    /// The exported interfaces, in the world's order.
    exports: Vec<(WorldKey, InterfaceId)>,
    /// The imported interfaces, in the world's order.
    imports: Vec<(WorldKey, InterfaceId)>,
}

impl<'a> Contract<'a> {
    fn of(track: &'a Track) -> Result<Self, String> {
        let (resolve, world) = track.resolve()?;
        let interfaces = |items: &Items| -> Result<Vec<_>, String> {
            items
                .iter()
                .filter_map(|(key, item)| match item {
                    WorldItem::Interface { id, .. } => Some(Ok((key.clone(), *id))),
                    WorldItem::Type { .. } => None,
                    WorldItem::Function(f) => Some(Err(format!(
                        "the world {} has a function of its own ({}), which `gauntlet new` cannot stub",
                        track.world, f.name
                    ))),
                })
                .collect()
        };
        let w = &resolve.worlds[world];
        let exports = interfaces(&w.exports)?;
        let imports = interfaces(&w.imports)?;
        if exports.is_empty() {
            return Err(format!("the world {} exports nothing", track.world));
        }
        Ok(Contract {
            track,
            resolve,
            world,
            exports,
            imports,
        })
    }

    fn functions(&self, iface: InterfaceId) -> Result<Vec<&Function>, String> {
        let i = &self.resolve.interfaces[iface];
        i.functions
            .values()
            .map(|f| match f.kind {
                FunctionKind::Freestanding => Ok(f),
                _ => Err(format!(
                    "{} is not a plain function (resources and async are beyond `gauntlet new`)",
                    f.name
                )),
            })
            .collect()
    }

    fn iface_name(&self, iface: InterfaceId) -> &str {
        self.resolve.interfaces[iface]
            .name
            .as_deref()
            .unwrap_or("interface")
    }

    /// The world's name without its package, e.g. `plugin`.
    fn world_name(&self) -> &str {
        &self.resolve.worlds[self.world].name
    }

    /// `ns:pkg/iface@version`, as ES modules and WIT `use` name it.
    fn qualified(&self, key: &WorldKey) -> String {
        self.resolve.name_world_key(key)
    }

    /// The wit-bindgen module path of an interface, e.g.
    /// `exports::gauntlet::rate_limiter::limiter`.
    fn rust_module(&self, key: &WorldKey, iface: InterfaceId, export: bool) -> String {
        let mut path = Vec::new();
        if export {
            path.push("exports".to_string());
        }
        match key {
            WorldKey::Name(name) => path.push(rust_ident(name)),
            WorldKey::Interface(_) => {
                let i = &self.resolve.interfaces[iface];
                let package = &self.resolve.packages[i.package.expect("a package")];
                path.push(rust_ident(&package.name.namespace));
                path.push(snake(&package.name.name));
                path.push(rust_ident(i.name.as_deref().unwrap_or("interface")));
            }
        }
        path.join("::")
    }

    /// A type as wit-bindgen names it in an export's signature (owned
    /// strings and lists); `named` collects the named types used.
    fn rust_type(
        &self,
        iface: InterfaceId,
        ty: &Type,
        named: &mut BTreeSet<String>,
    ) -> Result<String, String> {
        Ok(match ty {
            Type::Bool => "bool".into(),
            Type::U8 => "u8".into(),
            Type::U16 => "u16".into(),
            Type::U32 => "u32".into(),
            Type::U64 => "u64".into(),
            Type::S8 => "i8".into(),
            Type::S16 => "i16".into(),
            Type::S32 => "i32".into(),
            Type::S64 => "i64".into(),
            Type::F32 => "f32".into(),
            Type::F64 => "f64".into(),
            Type::Char => "char".into(),
            Type::String => "String".into(),
            Type::ErrorContext => return Err(unsupported("error-context")),
            Type::Id(id) => {
                let def = &self.resolve.types[*id];
                if let Some(name) = &def.name {
                    self.check_named(iface, def)?;
                    let name = rust_type_name(name);
                    named.insert(name.clone());
                    return Ok(name);
                }
                match &def.kind {
                    TypeDefKind::List(t) => format!("Vec<{}>", self.rust_type(iface, t, named)?),
                    TypeDefKind::Option(t) => {
                        format!("Option<{}>", self.rust_type(iface, t, named)?)
                    }
                    TypeDefKind::Result(r) => {
                        let mut side = |t: &Option<Type>| match t {
                            Some(t) => self.rust_type(iface, t, named),
                            None => Ok("()".to_string()),
                        };
                        format!("Result<{}, {}>", side(&r.ok)?, side(&r.err)?)
                    }
                    TypeDefKind::Tuple(t) => {
                        let items = t
                            .types
                            .iter()
                            .map(|t| self.rust_type(iface, t, named))
                            .collect::<Result<Vec<_>, _>>()?;
                        match items.len() {
                            1 => format!("({},)", items[0]),
                            _ => format!("({})", items.join(", ")),
                        }
                    }
                    TypeDefKind::FixedLengthList(t, n) => {
                        format!("[{}; {n}]", self.rust_type(iface, t, named)?)
                    }
                    TypeDefKind::Type(t) => self.rust_type(iface, t, named)?,
                    other => return Err(unsupported(other.as_str())),
                }
            }
        })
    }

    /// A named type in a signature must be the interface's own (defined or
    /// `use`d there) and of a kind the starters know.
    fn check_named(&self, iface: InterfaceId, def: &wit_parser::TypeDef) -> Result<(), String> {
        if def.owner != TypeOwner::Interface(iface) {
            return Err(format!(
                "the type {} is not the interface's own",
                def.name.as_deref().unwrap_or("?")
            ));
        }
        match &def.kind {
            TypeDefKind::Resource
            | TypeDefKind::Handle(_)
            | TypeDefKind::Future(_)
            | TypeDefKind::Stream(_)
            | TypeDefKind::Map(..) => Err(unsupported(def.kind.as_str())),
            _ => Ok(()),
        }
    }

    /// A type as the WIT writes it, for the comments of Python and
    /// JavaScript stubs.
    fn wit_type(&self, ty: &Type) -> String {
        match ty {
            Type::Bool => "bool".into(),
            Type::U8 => "u8".into(),
            Type::U16 => "u16".into(),
            Type::U32 => "u32".into(),
            Type::U64 => "u64".into(),
            Type::S8 => "s8".into(),
            Type::S16 => "s16".into(),
            Type::S32 => "s32".into(),
            Type::S64 => "s64".into(),
            Type::F32 => "f32".into(),
            Type::F64 => "f64".into(),
            Type::Char => "char".into(),
            Type::String => "string".into(),
            Type::ErrorContext => "error-context".into(),
            Type::Id(id) => {
                let def = &self.resolve.types[*id];
                if let Some(name) = &def.name {
                    return name.clone();
                }
                match &def.kind {
                    TypeDefKind::List(t) => format!("list<{}>", self.wit_type(t)),
                    TypeDefKind::Option(t) => format!("option<{}>", self.wit_type(t)),
                    TypeDefKind::Result(r) => match (&r.ok, &r.err) {
                        (None, None) => "result".into(),
                        (Some(ok), None) => format!("result<{}>", self.wit_type(ok)),
                        (None, Some(err)) => format!("result<_, {}>", self.wit_type(err)),
                        (Some(ok), Some(err)) => {
                            format!("result<{}, {}>", self.wit_type(ok), self.wit_type(err))
                        }
                    },
                    TypeDefKind::Tuple(t) => format!(
                        "tuple<{}>",
                        t.types
                            .iter()
                            .map(|t| self.wit_type(t))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    TypeDefKind::FixedLengthList(t, n) => {
                        format!("list<{}, {n}>", self.wit_type(t))
                    }
                    TypeDefKind::Type(t) => self.wit_type(t),
                    other => other.as_str().to_string(),
                }
            }
        }
    }

    /// A function's WIT declaration, e.g. `check: func(key: string, cost: u64) -> decision`.
    fn wit_signature(&self, f: &Function) -> String {
        let params = f
            .params
            .iter()
            .map(|p| format!("{}: {}", p.name, self.wit_type(&p.ty)))
            .collect::<Vec<_>>()
            .join(", ");
        match &f.result {
            Some(t) => format!("{}: func({params}) -> {}", f.name, self.wit_type(t)),
            None => format!("{}: func({params})", f.name),
        }
    }

    /// The WIT file of the track's own package (not its dependencies).
    fn wit_file(&self) -> &str {
        self.track
            .wit
            .iter()
            .map(|(path, _)| *path)
            .find(|path| !path.starts_with("deps/"))
            .unwrap_or("the track's .wit file")
    }

    fn export_names(&self) -> String {
        self.exports
            .iter()
            .map(|(_, id)| format!("`{}`", self.iface_name(*id)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `src/lib.rs` of a Rust starter.
    fn rust_lib(&self) -> Result<String> {
        self.rust_lib_inner().map_err(Error::Internal)
    }

    fn rust_lib_inner(&self) -> Result<String, String> {
        let track = self.track;
        // Each exported interface: its module, the named types of its
        // signatures, and its functions as Rust.
        struct Impl {
            module: String,
            named: BTreeSet<String>,
            functions: Vec<Stub>,
        }
        /// One function: its Rust name, parameters and ` -> result`, its
        /// doc comment, and the label of its `todo!`.
        struct Stub {
            name: String,
            params: Vec<String>,
            result: String,
            docs: String,
            label: String,
        }
        let mut impls = Vec::new();
        for (key, iface) in &self.exports {
            let mut named = BTreeSet::new();
            let mut functions = Vec::new();
            let label = self.iface_name(*iface).to_string();
            for f in self.functions(*iface)? {
                let params = f
                    .params
                    .iter()
                    .map(|p| {
                        Ok(format!(
                            "{}: {}",
                            rust_ident(&p.name),
                            self.rust_type(*iface, &p.ty, &mut named)?
                        ))
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                let result = match &f.result {
                    Some(t) => format!(" -> {}", self.rust_type(*iface, t, &mut named)?),
                    None => String::new(),
                };
                functions.push(Stub {
                    name: rust_ident(&f.name),
                    params,
                    result,
                    docs: f.docs.contents.clone().unwrap_or_default(),
                    label: format!("{label}.{}", f.name),
                });
            }
            impls.push(Impl {
                module: self.rust_module(key, *iface, true),
                named,
                functions,
            });
        }
        // With one exported interface its types and `Guest` are imported by
        // name; with more, or a name that clashes with the prelude, every
        // name is qualified by its module.
        const TAKEN: &[&str] = &[
            "Guest", "Option", "Result", "String", "Vec", "Box", "Some", "None", "Ok", "Err",
        ];
        let short = impls.len() == 1
            && impls[0]
                .named
                .iter()
                .all(|n| !TAKEN.contains(&n.as_str()) && !n.ends_with('_'));
        let all_named: BTreeSet<&String> = impls.iter().flat_map(|i| &i.named).collect();
        let mut plugin = upper_camel(track.name);
        if all_named.contains(&plugin) || TAKEN.contains(&plugin.as_str()) {
            plugin.push_str("Plugin");
        }

        let mut out = String::new();
        let w = &mut out;
        let _ = writeln!(
            w,
            "//! A `{}` plugin for gauntlet: the world `{}`.",
            track.name, track.world
        );
        let _ = writeln!(
            w,
            "//! Generated by `gauntlet new {} DIR --lang rust`.",
            track.name
        );
        let _ = writeln!(w, "//!");
        for line in wrap(
            &format!(
                "Every function of the contract is a `todo!()` below: until you write it, a call \
                 to it panics and gauntlet gives the scenario the verdict TRAP. The contract is the \
                 WIT in `wit/` (`wit/{}`, with the harness in `wit/deps/`): its doc comments, \
                 copied above each function here, say exactly what each one must do.",
                self.wit_file()
            ),
            76,
        ) {
            let _ = writeln!(w, "//! {line}");
        }
        if !self.imports.is_empty() {
            let _ = writeln!(w, "//!");
            let _ = writeln!(
                w,
                "//! What you may call (the world's imports), as modules of this crate:"
            );
            for (key, iface) in &self.imports {
                let _ = writeln!(w, "//! - `{}`", self.rust_module(key, *iface, false));
            }
        }
        let _ = writeln!(w, "//!");
        let _ = writeln!(w, "//! Build and test: `gauntlet test .` (see README.md).");
        let _ = writeln!(w);
        if short {
            let i = &impls[0];
            let mut names: Vec<&str> = i.named.iter().map(String::as_str).collect();
            names.push("Guest");
            names.sort_unstable();
            let line = format!("use {}::{{{}}};", i.module, names.join(", "));
            if line.len() <= 100 {
                let _ = writeln!(w, "{line}");
            } else {
                let _ = writeln!(w, "use {}::{{", i.module);
                for line in wrap(&names.join(", "), 95) {
                    let _ = writeln!(w, "    {}", line.trim_end());
                }
                let _ = writeln!(w, "}};");
            }
        } else {
            for i in &impls {
                let _ = writeln!(w, "use {};", i.module);
            }
        }
        let _ = writeln!(w);
        let _ = writeln!(w, "wit_bindgen::generate!({{");
        let _ = writeln!(w, "    path: \"wit\",");
        let _ = writeln!(w, "    world: \"{}\",", track.world);
        let _ = writeln!(
            w,
            "    // Bindings for every package, the harness under wit/deps/ too."
        );
        let _ = writeln!(w, "    generate_all,");
        let _ = writeln!(w, "}});");
        let _ = writeln!(w);
        let _ = writeln!(
            w,
            "/// The plugin. An instance of the component runs on one thread: keep its"
        );
        let _ = writeln!(
            w,
            "/// state in a `thread_local!` (a `RefCell`, say), or in the harness `store`"
        );
        let _ = writeln!(w, "/// where the contract asks for durability.");
        let _ = writeln!(w, "struct {plugin};");
        for i in &impls {
            let last = i.module.rsplit("::").next().unwrap_or(&i.module);
            let qualify = |s: &str| -> String {
                if short {
                    return s.to_string();
                }
                let mut s = s.to_string();
                for name in &i.named {
                    s = replace_word(&s, name, &format!("{last}::{name}"));
                }
                s
            };
            let _ = writeln!(w);
            let _ = writeln!(
                w,
                "// The stubs use none of their parameters: remove this once each is written."
            );
            let _ = writeln!(w, "#[allow(unused_variables)]");
            let guest = if short {
                "Guest".to_string()
            } else {
                format!("{last}::Guest")
            };
            let _ = writeln!(w, "impl {guest} for {plugin} {{");
            for (n, stub) in i.functions.iter().enumerate() {
                let Stub {
                    name,
                    params,
                    result,
                    docs,
                    label,
                } = stub;
                if n > 0 {
                    let _ = writeln!(w);
                }
                for line in docs.trim_end().lines() {
                    let _ = writeln!(w, "    ///{}", prefixed(line));
                }
                let params: Vec<String> = params.iter().map(|p| qualify(p)).collect();
                let result = qualify(result);
                // As rustfmt lays it out: one line if it fits in 100.
                let line = format!("    fn {name}({}){result} {{", params.join(", "));
                if line.len() <= 100 {
                    let _ = writeln!(w, "{line}");
                } else {
                    let _ = writeln!(w, "    fn {name}(");
                    for p in &params {
                        let _ = writeln!(w, "        {p},");
                    }
                    let _ = writeln!(w, "    ){result} {{");
                }
                let _ = writeln!(w, "        todo!(\"{label}\")");
                let _ = writeln!(w, "    }}");
            }
            let _ = writeln!(w, "}}");
        }
        let _ = writeln!(w);
        let _ = writeln!(w, "export!({plugin});");
        Ok(out)
    }

    /// `app.py` of a Python starter.
    fn python_app(&self) -> Result<String> {
        let track = self.track;
        let mut out = String::new();
        let w = &mut out;
        let _ = writeln!(
            w,
            "\"\"\"A `{}` plugin for gauntlet: the world `{}`.",
            track.name, track.world
        );
        let _ = writeln!(w);
        let _ = writeln!(
            w,
            "Generated by `gauntlet new {} DIR --lang python`.",
            track.name
        );
        let _ = writeln!(w);
        for line in wrap(
            &format!(
                "Every function of the contract is below, each raising NotImplementedError: until \
                 you write it, a call to it traps and gauntlet gives the scenario the verdict TRAP. \
                 The contract is the WIT in wit/ (wit/{}, with the harness in wit/deps/): its doc \
                 comments, copied into each method's docstring here, say exactly what each one \
                 must do. A WIT `result` error is raised as `componentize_py_types.Err(value)`; \
                 types are in `wit_world.exports.<interface>` and \
                 `wit_world.imports.<interface>`.",
                self.wit_file()
            ),
            76,
        ) {
            let _ = writeln!(w, "{line}");
        }
        if !self.imports.is_empty() {
            let _ = writeln!(w);
            let _ = writeln!(
                w,
                "What you may call (the world's imports): `from wit_world.imports import {}`.",
                self.imports
                    .iter()
                    .map(|(_, id)| snake(self.iface_name(*id)))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let _ = writeln!(w);
        let _ = writeln!(w, "Build and test: `gauntlet test .` (see README.md).");
        let _ = writeln!(w, "\"\"\"");
        let _ = writeln!(w);
        let _ = writeln!(w, "from wit_world import exports");
        for (_, iface) in &self.exports {
            let label = self.iface_name(*iface);
            let _ = writeln!(w);
            let _ = writeln!(w);
            let class = upper_camel(label);
            let _ = writeln!(w, "class {class}(exports.{class}):");
            for (n, f) in self
                .functions(*iface)
                .map_err(Error::Internal)?
                .iter()
                .enumerate()
            {
                if n > 0 {
                    let _ = writeln!(w);
                }
                let mut params = vec!["self".to_string()];
                params.extend(f.params.iter().map(|p| python_ident(&p.name)));
                let _ = writeln!(
                    w,
                    "    def {}({}):",
                    python_ident(&f.name),
                    params.join(", ")
                );
                let _ = writeln!(
                    w,
                    "        \"\"\"`{}`",
                    python_docstring(&self.wit_signature(f))
                );
                if let Some(docs) = &f.docs.contents {
                    let _ = writeln!(w);
                    for line in docs.trim_end().lines() {
                        let line = python_docstring(line.trim_end());
                        if line.is_empty() {
                            let _ = writeln!(w);
                        } else {
                            let _ = writeln!(w, "        {line}");
                        }
                    }
                }
                let _ = writeln!(w, "        \"\"\"");
                let _ = writeln!(
                    w,
                    "        raise NotImplementedError(\"{label}.{}\")",
                    f.name
                );
            }
        }
        Ok(out)
    }

    /// `app.js` of a JavaScript starter.
    fn js_app(&self) -> Result<String> {
        let track = self.track;
        let mut out = String::new();
        let w = &mut out;
        let _ = writeln!(
            w,
            "// A `{}` plugin for gauntlet: the world `{}`.",
            track.name, track.world
        );
        let _ = writeln!(
            w,
            "// Generated by `gauntlet new {} DIR --lang js`.",
            track.name
        );
        let _ = writeln!(w, "//");
        for line in wrap(
            &format!(
                "Every function of the contract is below, each throwing an Error: until you write \
                 it, a call to it traps and gauntlet gives the scenario the verdict TRAP. The \
                 contract is the WIT in wit/ (wit/{}, with the harness in wit/deps/): its doc \
                 comments, copied above each function here, say exactly what each one must do. \
                 Names are camelCase; u64 and s64 are BigInts (return `0n`, not `0`); records are \
                 objects, variants `{{ tag: 'name', val }}`, enums strings, an absent option \
                 `undefined`. A function returning a WIT `result` returns its ok value and throws \
                 its error value itself (`throw {{ tag: 'not-found' }}`).",
                self.wit_file()
            ),
            76,
        ) {
            let _ = writeln!(w, "// {line}");
        }
        if !self.imports.is_empty() {
            let _ = writeln!(w, "//");
            let _ = writeln!(
                w,
                "// What you may call (the world's imports), as ES modules, e.g."
            );
            let (key, iface) = &self.imports[0];
            let example = self.functions(*iface).ok().and_then(|f| f.first().copied());
            let name = example.map_or("name".to_string(), |f| camel(&f.name));
            let _ = writeln!(
                w,
                "//   import {{ {name} }} from '{}';",
                self.qualified(key)
            );
            for (key, _) in &self.imports {
                let _ = writeln!(w, "// - '{}'", self.qualified(key));
            }
        }
        let _ = writeln!(w, "//");
        let _ = writeln!(w, "// Build and test: `gauntlet test .` (see README.md).");
        for (_, iface) in &self.exports {
            let label = self.iface_name(*iface);
            let _ = writeln!(w);
            let _ = writeln!(w, "export const {} = {{", camel(label));
            for (n, f) in self
                .functions(*iface)
                .map_err(Error::Internal)?
                .iter()
                .enumerate()
            {
                if n > 0 {
                    let _ = writeln!(w);
                }
                let _ = writeln!(w, "  // {}", self.wit_signature(f));
                if let Some(docs) = &f.docs.contents {
                    let _ = writeln!(w, "  //");
                    for line in docs.trim_end().lines() {
                        let _ = writeln!(w, "  //{}", prefixed(line));
                    }
                }
                let params = f
                    .params
                    .iter()
                    .map(|p| js_ident(&p.name))
                    .collect::<Vec<_>>()
                    .join(", ");
                let _ = writeln!(w, "  {}({params}) {{", camel(&f.name));
                let _ = writeln!(
                    w,
                    "    throw new Error(\"not written yet: {label}.{}\");",
                    f.name
                );
                let _ = writeln!(w, "  }},");
            }
            let _ = writeln!(w, "}};");
        }
        Ok(out)
    }
}

/// A world's imports or exports, as wit-parser keeps them.
type Items = wit_parser::IndexMap<WorldKey, WorldItem>;

fn unsupported(what: &str) -> String {
    format!("the track's WIT uses a {what}, which `gauntlet new` cannot stub")
}

/// A doc line after `///` or `//`: a space before text, nothing for a blank.
fn prefixed(line: &str) -> String {
    let line = line.trim_end();
    if line.is_empty() {
        String::new()
    } else {
        format!(" {line}")
    }
}

/// `text` in lines of at most `width` characters, broken at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    // Words, a `code span` kept whole.
    let mut words: Vec<String> = Vec::new();
    let mut open = false;
    for word in text.split_whitespace() {
        match words.last_mut() {
            Some(last) if open => {
                last.push(' ');
                last.push_str(word);
            }
            _ => words.push(word.to_string()),
        }
        if word.matches('`').count() % 2 == 1 {
            open = !open;
        }
    }
    for word in &words {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Replaces `word` in `s` where it stands as a whole identifier.
fn replace_word(s: &str, word: &str, with: &str) -> String {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_' || c == ':';
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find(word) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + word.len()..].chars().next();
        out.push_str(&rest[..at]);
        if before.is_some_and(is_ident) || after.is_some_and(is_ident) {
            out.push_str(word);
        } else {
            out.push_str(with);
        }
        rest = &rest[at + word.len()..];
    }
    out.push_str(rest);
    out
}

/// `kebab-case` as `snake_case`.
fn snake(name: &str) -> String {
    name.to_lowercase().replace('-', "_")
}

/// `kebab-case` as `UpperCamelCase`.
fn upper_camel(name: &str) -> String {
    name.split('-')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first
                    .to_uppercase()
                    .chain(chars.flat_map(char::to_lowercase))
                    .collect(),
                None => String::new(),
            }
        })
        .collect()
}

/// `kebab-case` as `lowerCamelCase`.
fn camel(name: &str) -> String {
    let upper = upper_camel(name);
    let mut chars = upper.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A WIT type's name as wit-bindgen writes it (`guest` is kept for the
/// traits of exports).
fn rust_type_name(name: &str) -> String {
    match name {
        "guest" => "Guest_".to_string(),
        name => upper_camel(name),
    }
}

/// A WIT name as a Rust identifier, keywords escaped as wit-bindgen does.
fn rust_ident(name: &str) -> String {
    const KEYWORDS: &[&str] = &[
        "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn",
        "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref",
        "return", "self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use",
        "where", "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final",
        "macro", "override", "priv", "typeof", "unsized", "virtual", "yield", "try",
    ];
    if KEYWORDS.contains(&name) {
        format!("{name}_")
    } else {
        snake(name)
    }
}

/// A WIT name as a Python identifier (keywords get a trailing `_`, as
/// componentize-py does).
fn python_ident(name: &str) -> String {
    const KEYWORDS: &[&str] = &[
        "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
        "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
        "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return",
        "try", "while", "with", "yield",
    ];
    let name = snake(name);
    if KEYWORDS.contains(&name.as_str()) {
        format!("{name}_")
    } else {
        name
    }
}

/// A WIT name as a JavaScript parameter (reserved words get a trailing `_`).
fn js_ident(name: &str) -> String {
    const RESERVED: &[&str] = &[
        "await",
        "break",
        "case",
        "catch",
        "class",
        "const",
        "continue",
        "debugger",
        "default",
        "delete",
        "do",
        "else",
        "enum",
        "export",
        "extends",
        "false",
        "finally",
        "for",
        "function",
        "if",
        "implements",
        "import",
        "in",
        "instanceof",
        "interface",
        "let",
        "new",
        "null",
        "package",
        "private",
        "protected",
        "public",
        "return",
        "static",
        "super",
        "switch",
        "this",
        "throw",
        "true",
        "try",
        "typeof",
        "var",
        "void",
        "while",
        "with",
        "yield",
        "arguments",
        "eval",
    ];
    let name = camel(name);
    if RESERVED.contains(&name.as_str()) {
        format!("{name}_")
    } else {
        name
    }
}

/// Text safe inside a Python `"""` docstring.
fn python_docstring(text: &str) -> String {
    text.replace('\\', "\\\\").replace("\"\"\"", "\\\"\\\"\\\"")
}

/// The Rust package name: the directory's, if cargo accepts it, else
/// `<track>-plugin`.
fn package_name(dir: &str, track: &Track) -> String {
    const RESERVED: &[&str] = &[
        "std",
        "core",
        "alloc",
        "test",
        "proc-macro",
        "proc_macro",
        "self",
        "crate",
        "super",
        "build",
        "deps",
        "examples",
        "incremental",
    ];
    let name = dir.to_lowercase();
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && !RESERVED.contains(&name.as_str())
        && rust_ident(&name) == snake(&name);
    if valid {
        name
    } else {
        format!("{}-plugin", track.name)
    }
}

fn cargo_toml(package: &str) -> String {
    format!(
        r#"[package]
name = "{package}"
version = "0.1.0"
edition = "2024"
publish = false

# A component is a cdylib built for {WASM_TARGET}.
[lib]
crate-type = ["cdylib"]

[dependencies]
wit-bindgen = {{ version = "{WIT_BINDGEN}", default-features = false, features = ["macros", "realloc"] }}

# A crate of its own: never a member of a workspace around it.
[workspace]
"#
    )
}

fn manifest(track: &Track, lang: &str, main: Option<&str>) -> String {
    let main = main
        .map(|main| format!("main = \"{main}\"\n"))
        .unwrap_or_default();
    format!(
        "# Read by gauntlet, which builds this directory itself: `gauntlet test .`\n\
         track = \"{}\"\nlang = \"{lang}\"\n{main}",
        track.name
    )
}

/// The README's section on the contract, the same in every language.
fn readme_contract(track: &Track, contract: &Contract, stubs: &str) -> String {
    let harness: Vec<&str> = track
        .wit
        .iter()
        .map(|(path, _)| *path)
        .filter(|path| path.starts_with("deps/"))
        .collect();
    let imports = contract
        .imports
        .iter()
        .map(|(key, _)| format!("`{}`", contract.qualified(key)))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "## The contract\n\n\
         `wit/` holds the track's WIT, exactly as `gauntlet wit {name} --out wit` writes it: \
         `wit/{file}` declares the world `{world}` (`world {world_name}`), which exports {exports} \
         (what you write) and imports {imports} (what you may call){deps}. Its doc comments are \
         the exact specification of every function: what it must answer, and which error \
         when. {stubs}\n\n\
         gauntlet grades against the WIT it carries, not against `wit/`: do not edit it.\n",
        name = track.name,
        file = contract.wit_file(),
        world = track.world,
        world_name = contract.world_name(),
        exports = contract.export_names(),
        deps = if harness.is_empty() {
            String::new()
        } else {
            format!(
                "; the harness is in {}",
                harness
                    .iter()
                    .map(|p| format!("`wit/{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
    )
}

/// The README's section on what a test run says, the same in every language.
fn readme_verdicts(track: &Track) -> String {
    format!(
        "Until a function is written, its stub traps, and every scenario that calls it gets the \
         verdict `TRAP`. One scenario, and the replay of a failure, with the names `gauntlet test` \
         prints:\n\n\
         ```sh\n\
         gauntlet test . --scenario NAME\n\
         gauntlet replay . --scenario NAME --seed N\n\
         ```\n\n\
         `gauntlet tracks` lists the tracks; `gauntlet wit {}` prints the contract.\n",
        track.name
    )
}

fn readme_rust(track: &Track, contract: &Contract, package: &str) -> String {
    let artifact = package.replace('-', "_");
    format!(
        "# {package}: a gauntlet `{name}` plugin in Rust\n\n\
         Generated by `gauntlet new {name} DIR --lang rust`: a crate that builds into a \
         WebAssembly component of the world `{world}`, every function of the contract a \
         `todo!()` in `src/lib.rs`.\n\n\
         {contract_section}\n\
         ## Build and test\n\n\
         You need Rust (rustup) and the `gauntlet` binary. From this directory:\n\n\
         ```sh\n\
         gauntlet test .\n\
         ```\n\n\
         builds the crate (cargo, release, for `{target}`; the target is installed with rustup \
         if it is missing) and runs every scenario of the track against the reference. The same \
         by hand:\n\n\
         ```sh\n\
         rustup target add {target}\n\
         cargo build --release --target {target}\n\
         gauntlet test target/{target}/release/{artifact}.wasm\n\
         ```\n\n\
         {verdicts}\n\
         ## Writing it\n\n\
         - `wit_bindgen::generate!` in `src/lib.rs` makes the bindings from `wit/` at compile \
         time: each exported interface is a `Guest` trait under `exports::`, its records and \
         variants Rust types of the same names in UpperCamelCase; each import a module of the \
         crate (e.g. `gauntlet::harness::clock::now_ms()`).\n\
         - A WIT `result` is a Rust `Result`: return `Err(...)` for an expected error. A panic \
         traps: gauntlet reports it as `TRAP`, a broken contract.\n\
         - The component is instantiated afresh for each scenario (and after each crash the \
         track injects); keep state in a `thread_local!`.\n",
        name = track.name,
        world = track.world,
        contract_section = readme_contract(
            track,
            contract,
            "Each stub in `src/lib.rs` carries its function's doc comment.",
        ),
        target = WASM_TARGET,
        verdicts = readme_verdicts(track),
    )
}

fn readme_python(track: &Track, contract: &Contract) -> String {
    let world = track.world.split('@').next().unwrap_or(track.world);
    format!(
        "# A gauntlet `{name}` plugin in Python\n\n\
         Generated by `gauntlet new {name} DIR --lang python`: `app.py`, with a class per \
         exported interface and every method raising `NotImplementedError`, built by gauntlet \
         into a WebAssembly component of the world `{world_full}` with \
         [componentize-py](https://github.com/bytecodealliance/componentize-py) {py}.\n\n\
         {contract_section}\n\
         ## Build and test\n\n\
         You need Python 3.10 or newer (`python3` with `venv`) and the `gauntlet` binary. From \
         this directory:\n\n\
         ```sh\n\
         gauntlet test .\n\
         ```\n\n\
         `{manifest}` names the track and the language, so gauntlet builds `app.py` itself: \
         it installs componentize-py {py}, pinned, into a venv under its cache directory the \
         first time (set `GAUNTLET_PYTHON` to use another `python3`), builds (10–20 s), and \
         keeps the build (keyed by the sources' hash) until a `.py` file changes. It then runs \
         every scenario of the track against the reference; the first run also compiles the \
         component (10–20 s, cached after).\n\n\
         The same by hand:\n\n\
         ```sh\n\
         VENV=~/.venvs/componentize-py-{py}   # anywhere but in this directory\n\
         python3 -m venv $VENV\n\
         $VENV/bin/pip install componentize-py=={py}\n\
         $VENV/bin/componentize-py -d wit -w {world} componentize app -o plugin.wasm\n\
         gauntlet test plugin.wasm\n\
         ```\n\n\
         {verdicts}\n\
         ## Writing it\n\n\
         - `from wit_world import exports`: each exported interface is a class to subclass \
         (`exports.{class}`), its functions methods in snake_case with the WIT's parameter \
         names. Imports are modules: `from wit_world.imports import ...`.\n\
         - A WIT `result` returns its ok value; raise `componentize_py_types.Err(value)` for \
         its error. Any other exception traps: gauntlet reports it as `TRAP`.\n\
         - To see the generated bindings (for an editor): \
         `$VENV/bin/componentize-py -d wit -w {world} bindings bindings` (`bindings/` is \
         ignored by git; delete it before a build by hand, so that it never shadows the \
         bindings the build generates).\n\
         - State lives in module globals: one per component instance, instantiated afresh for \
         each scenario (and after each crash the track injects).\n",
        name = track.name,
        world_full = track.world,
        py = COMPONENTIZE_PY,
        manifest = MANIFEST,
        class = contract
            .exports
            .first()
            .map(|(_, id)| upper_camel(contract.iface_name(*id)))
            .unwrap_or_default(),
        contract_section = readme_contract(
            track,
            contract,
            "Each method in `app.py` carries its function's WIT declaration and doc comment.",
        ),
        verdicts = readme_verdicts(track),
    )
}

fn readme_js(track: &Track, contract: &Contract) -> String {
    let componentize_js = COMPONENTIZE_JS
        .iter()
        .map(|p| format!("`{p}`"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "# A gauntlet `{name}` plugin in JavaScript\n\n\
         Generated by `gauntlet new {name} DIR --lang js`: `app.js`, an ES module exporting an \
         object per exported interface with every function throwing, built by gauntlet into a \
         WebAssembly component of the world `{world}` with \
         [ComponentizeJS](https://github.com/bytecodealliance/ComponentizeJS) (the SpiderMonkey \
         engine in the component).\n\n\
         {contract_section}\n\
         ## Build and test\n\n\
         You need Node.js 18 or newer (`node` and `npm`) and the `gauntlet` binary. From this \
         directory:\n\n\
         ```sh\n\
         gauntlet test .\n\
         ```\n\n\
         `{manifest}` names the track, the language and the module (`main = \"app.js\"`), so \
         gauntlet builds it itself: it installs {componentize_js}, pinned, with npm under its \
         cache directory the first time, builds (about 10 s), and keeps the build (keyed by the \
         sources' hash) until a `.js` file changes. It then runs every scenario of the track \
         against the reference; the first run also compiles the component (about 20 s, cached \
         after).\n\n\
         {verdicts}\n\
         The engine collects its garbage only once its heap nears 64 MiB, gauntlet's default \
         memory cap: if a long scenario ends in `MEMORY`, give it room with \
         `gauntlet test . --memory-mib 96`.\n\n\
         ## Writing it\n\n\
         - Each exported interface is an exported object named after it in camelCase, its \
         functions methods in camelCase. Imports are ES imports of the interface: \
         {example_import}.\n\
         - Records are objects with camelCase fields, variants `{{ tag: 'name', val }}`, enums \
         strings, an absent `option` `undefined`; u64 and s64 are BigInts both ways (`0n`).\n\
         - A WIT `result` returns its ok value and throws its error value itself \
         (`throw {{ tag: 'not-found' }}`). Anything else thrown traps: gauntlet reports it as \
         `TRAP`.\n\
         - `console.log` prints nothing: use the harness `log` import.\n\
         - State lives in module variables: one per component instance, instantiated afresh \
         for each scenario (and after each crash the track injects).\n",
        name = track.name,
        world = track.world,
        manifest = MANIFEST,
        example_import = contract
            .imports
            .first()
            .map(|(key, _)| format!("`import * as x from '{}'`", contract.qualified(key)))
            .unwrap_or_else(|| "none in this world".to_string()),
        contract_section = readme_contract(
            track,
            contract,
            "Each function in `app.js` carries its WIT declaration and doc comment.",
        ),
        verdicts = readme_verdicts(track),
    )
}
