//! An answer as a tree, to find where two answers differ and to print
//! part of one: what `serde` makes of it, in declaration order (unlike
//! `serde_json::Value`, whose maps are sorted), with records, enum variants,
//! tuples and lists told apart.

use serde::Serialize;
use serde::ser;

/// A serialised value.
#[derive(Clone, Debug, PartialEq)]
pub enum Tree {
    /// `()`, a unit struct, `None`.
    Unit,
    Bool(bool),
    /// A number, as printed.
    Number(String),
    Str(String),
    /// A sequence whose items are alike: `Vec`, a slice, a set.
    List(Vec<Tree>),
    /// A tuple or a tuple struct: positions, not items.
    Tuple(Vec<Tree>),
    /// A struct or a map: named fields, in order.
    Record(Vec<(String, Tree)>),
    /// An enum variant and what it carries ([`Tree::Unit`] for none).
    /// `Result` is the variants `Ok` and `Err`.
    Variant(String, Box<Tree>),
}

impl Tree {
    /// The tree of `value`; a value that does not serialise is
    /// [`Tree::Unit`].
    pub fn of<T: Serialize + ?Sized>(value: &T) -> Tree {
        value.serialize(Builder).unwrap_or(Tree::Unit)
    }
}

#[derive(Debug)]
pub struct Unsupported(String);

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Unsupported(msg.to_string())
    }
}

/// The serializer that builds a [`Tree`].
struct Builder;

fn number(n: impl ToString) -> Result<Tree, Unsupported> {
    Ok(Tree::Number(n.to_string()))
}

impl ser::Serializer for Builder {
    type Ok = Tree;
    type Error = Unsupported;
    type SerializeSeq = Items;
    type SerializeTuple = Items;
    type SerializeTupleStruct = Items;
    type SerializeTupleVariant = VariantItems;
    type SerializeMap = Fields;
    type SerializeStruct = Fields;
    type SerializeStructVariant = VariantFields;

    fn serialize_bool(self, v: bool) -> Result<Tree, Unsupported> {
        Ok(Tree::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Tree, Unsupported> {
        number(v)
    }
    fn serialize_i16(self, v: i16) -> Result<Tree, Unsupported> {
        number(v)
    }
    fn serialize_i32(self, v: i32) -> Result<Tree, Unsupported> {
        number(v)
    }
    fn serialize_i64(self, v: i64) -> Result<Tree, Unsupported> {
        number(v)
    }
    fn serialize_i128(self, v: i128) -> Result<Tree, Unsupported> {
        number(v)
    }
    fn serialize_u8(self, v: u8) -> Result<Tree, Unsupported> {
        number(v)
    }
    fn serialize_u16(self, v: u16) -> Result<Tree, Unsupported> {
        number(v)
    }
    fn serialize_u32(self, v: u32) -> Result<Tree, Unsupported> {
        number(v)
    }
    fn serialize_u64(self, v: u64) -> Result<Tree, Unsupported> {
        number(v)
    }
    fn serialize_u128(self, v: u128) -> Result<Tree, Unsupported> {
        number(v)
    }
    fn serialize_f32(self, v: f32) -> Result<Tree, Unsupported> {
        number(v)
    }
    fn serialize_f64(self, v: f64) -> Result<Tree, Unsupported> {
        number(v)
    }
    fn serialize_char(self, v: char) -> Result<Tree, Unsupported> {
        Ok(Tree::Str(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Tree, Unsupported> {
        Ok(Tree::Str(v.to_string()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Tree, Unsupported> {
        Ok(Tree::List(
            v.iter().map(|b| Tree::Number(b.to_string())).collect(),
        ))
    }
    fn serialize_none(self) -> Result<Tree, Unsupported> {
        Ok(Tree::Unit)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Tree, Unsupported> {
        value.serialize(Builder)
    }
    fn serialize_unit(self) -> Result<Tree, Unsupported> {
        Ok(Tree::Unit)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Tree, Unsupported> {
        Ok(Tree::Unit)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Tree, Unsupported> {
        Ok(Tree::Variant(variant.to_string(), Box::new(Tree::Unit)))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Tree, Unsupported> {
        value.serialize(Builder)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Tree, Unsupported> {
        Ok(Tree::Variant(
            variant.to_string(),
            Box::new(value.serialize(Builder)?),
        ))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Items, Unsupported> {
        Ok(Items {
            items: Vec::with_capacity(len.unwrap_or(0).min(1 << 12)),
            tuple: false,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Items, Unsupported> {
        Ok(Items {
            items: Vec::with_capacity(len.min(1 << 12)),
            tuple: true,
        })
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Items, Unsupported> {
        self.serialize_tuple(len)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantItems, Unsupported> {
        Ok(VariantItems {
            variant,
            items: self.serialize_tuple(len)?,
        })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Fields, Unsupported> {
        Ok(Fields::default())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Fields, Unsupported> {
        Ok(Fields::default())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<VariantFields, Unsupported> {
        Ok(VariantFields {
            variant,
            fields: Fields::default(),
        })
    }
}

struct Items {
    items: Vec<Tree>,
    tuple: bool,
}

impl Items {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.items.push(value.serialize(Builder)?);
        Ok(())
    }

    fn tree(self) -> Tree {
        if self.tuple {
            Tree::Tuple(self.items)
        } else {
            Tree::List(self.items)
        }
    }
}

/// Sequences, tuples and tuple structs all push their items.
macro_rules! items {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for Items {
            type Ok = Tree;
            type Error = Unsupported;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
                self.push(value)
            }
            fn end(self) -> Result<Tree, Unsupported> {
                Ok(self.tree())
            }
        }
    )*};
}

items!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field
);

struct VariantItems {
    variant: &'static str,
    items: Items,
}

impl ser::SerializeTupleVariant for VariantItems {
    type Ok = Tree;
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.items.push(value)
    }
    fn end(self) -> Result<Tree, Unsupported> {
        Ok(Tree::Variant(
            self.variant.to_string(),
            Box::new(self.items.tree()),
        ))
    }
}

#[derive(Default)]
struct Fields {
    fields: Vec<(String, Tree)>,
    key: Option<String>,
}

impl ser::SerializeMap for Fields {
    type Ok = Tree;
    type Error = Unsupported;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Unsupported> {
        self.key = Some(key_name(key.serialize(Builder)?)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        let key = self.key.take().unwrap_or_default();
        self.fields.push((key, value.serialize(Builder)?));
        Ok(())
    }
    fn end(self) -> Result<Tree, Unsupported> {
        Ok(Tree::Record(self.fields))
    }
}

impl ser::SerializeStruct for Fields {
    type Ok = Tree;
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        self.fields
            .push((key.to_string(), value.serialize(Builder)?));
        Ok(())
    }
    fn end(self) -> Result<Tree, Unsupported> {
        Ok(Tree::Record(self.fields))
    }
}

struct VariantFields {
    variant: &'static str,
    fields: Fields,
}

impl ser::SerializeStructVariant for VariantFields {
    type Ok = Tree;
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        ser::SerializeStruct::serialize_field(&mut self.fields, key, value)
    }
    fn end(self) -> Result<Tree, Unsupported> {
        Ok(Tree::Variant(
            self.variant.to_string(),
            Box::new(Tree::Record(self.fields.fields)),
        ))
    }
}

/// A map key, printed: a key that is not a string, a number, a bool or a
/// unit variant is refused.
fn key_name(key: Tree) -> Result<String, Unsupported> {
    match key {
        Tree::Str(name) | Tree::Number(name) => Ok(name),
        Tree::Bool(b) => Ok(b.to_string()),
        Tree::Variant(name, data) if *data == Tree::Unit => Ok(name),
        other => Err(Unsupported(format!("a map key of {other:?}"))),
    }
}
