//! `every_variant!`: the variants of a closed set, listed once and checked complete by the compiler.

/// An array of every variant of a fieldless enum, for tests that go through a closed set. The same
/// list is also the patterns of a `match` with no wildcard, so a new variant fails to compile until
/// it is listed, and a variant listed twice is an unreachable pattern.
///
/// ```
/// #[derive(Debug, Clone, Copy, PartialEq)]
/// enum Light {
///     Red,
///     Green,
/// }
/// let all = contract::every_variant!(Light: Red, Green);
/// assert_eq!(all, [Light::Red, Light::Green]);
/// ```
#[macro_export]
macro_rules! every_variant {
    ($ty:ident : $($variant:ident),+ $(,)?) => {{
        #[allow(dead_code)]
        fn listed_once_each(value: $ty) {
            match value {
                $($ty::$variant)|+ => {}
            }
        }
        [$($ty::$variant),+]
    }};
}
