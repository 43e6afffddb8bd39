//! Resource path templates: literal segments, `{param}` for one segment, a final `{name+}`
//! for one or more. When several routes match, the most specific wins, as in API Gateway: a
//! literal segment beats a parameter, a parameter beats a greedy tail, and an exact method
//! beats `ANY`.

use std::collections::BTreeMap;

use parallax_model::topology::{Method, RoutePath};

use crate::request::{MethodToken, encode_segment};

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    Greedy(String),
}

/// A compiled template.
#[derive(Clone, Debug)]
pub struct Template {
    path: String,
    segments: Vec<Segment>,
}

impl Template {
    /// Compiles a resource path for matching.
    pub fn new(path: &RoutePath) -> Template {
        let segments = path
            .as_str()
            .split('/')
            .filter(|s| !s.is_empty())
            .map(
                |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(inner) => match inner.strip_suffix('+') {
                        Some(name) => Segment::Greedy(name.to_owned()),
                        None => Segment::Param(inner.to_owned()),
                    },
                    None => Segment::Literal(s.to_owned()),
                },
            )
            .collect();
        Template {
            path: path.as_str().to_owned(),
            segments,
        }
    }

    /// The template as written (`/items/{id}`): the resource path of the access log and ARNs.
    pub fn as_str(&self) -> &str {
        &self.path
    }

    /// Matches a canonical path (segments, without stage); the parameters on success, and a
    /// specificity score to rank matches (higher is more specific). Parameter values are
    /// percent-encoded again for an upstream URI: a greedy one keeps `/` between segments, and
    /// a `/` decoded inside a segment stays escaped.
    pub fn matches(&self, parts: &[String]) -> Option<(BTreeMap<String, String>, Vec<u8>)> {
        let mut params = BTreeMap::new();
        let mut score = Vec::with_capacity(self.segments.len());
        for (i, seg) in self.segments.iter().enumerate() {
            match seg {
                Segment::Literal(l) => {
                    if parts.get(i) != Some(l) {
                        return None;
                    }
                    score.push(3);
                }
                Segment::Param(name) => {
                    let mut v = String::new();
                    encode_segment(parts.get(i)?, &mut v);
                    params.insert(name.clone(), v);
                    score.push(2);
                }
                Segment::Greedy(name) => {
                    if parts.len() <= i {
                        return None;
                    }
                    let mut v = String::new();
                    for (k, p) in parts[i..].iter().enumerate() {
                        if k > 0 {
                            v.push('/');
                        }
                        encode_segment(p, &mut v);
                    }
                    params.insert(name.clone(), v);
                    score.push(1);
                    return Some((params, score));
                }
            }
        }
        (parts.len() == self.segments.len()).then_some((params, score))
    }
}

/// Whether a route's method accepts the request's: `ANY` takes API Gateway's seven methods and
/// no other token.
pub fn method_matches(route: Method, request: &MethodToken) -> bool {
    match request {
        MethodToken::Known(m) => route == Method::Any || route == *m,
        MethodToken::Other(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(p: &str) -> Template {
        Template::new(&RoutePath::try_from(p.to_owned()).unwrap())
    }

    fn segs(p: &str) -> Vec<String> {
        crate::request::CanonicalPath::parse(p).unwrap().segments
    }

    #[test]
    fn literals_params_and_greedy() {
        assert!(t("/test").matches(&segs("/test")).is_some());
        assert!(t("/test").matches(&segs("/test/x")).is_none());
        assert!(t("/").matches(&segs("/")).is_some());
        let (p, _) = t("/items/{id}").matches(&segs("/items/42")).unwrap();
        assert_eq!(p["id"], "42");
        assert!(t("/items/{id}").matches(&segs("/items")).is_none());
        let (p, _) = t("/onprem/{proxy+}")
            .matches(&segs("/onprem/a/b/c"))
            .unwrap();
        assert_eq!(p["proxy"], "a/b/c");
        assert!(
            t("/onprem/{proxy+}").matches(&segs("/onprem")).is_none(),
            "greedy needs one segment"
        );
    }

    #[test]
    fn parameters_are_encoded_for_the_upstream() {
        let (p, _) = t("/items/{id}")
            .matches(&segs("/items/a%2F..%2Fadmin"))
            .unwrap();
        assert_eq!(p["id"], "a%2F..%2Fadmin");
        let (p, _) = t("/onprem/{proxy+}")
            .matches(&segs("/onprem/a%20b/c"))
            .unwrap();
        assert_eq!(p["proxy"], "a%20b/c");
    }

    #[test]
    fn any_takes_only_api_gateways_methods() {
        assert!(method_matches(Method::Any, &MethodToken::parse("DELETE")));
        assert!(!method_matches(Method::Any, &MethodToken::parse("get")));
        assert!(!method_matches(Method::Any, &MethodToken::parse("FOO")));
        assert!(!method_matches(Method::Get, &MethodToken::parse("Get")));
    }

    #[test]
    fn more_specific_scores_higher() {
        let (_, lit) = t("/items/special")
            .matches(&segs("/items/special"))
            .unwrap();
        let (_, par) = t("/items/{id}").matches(&segs("/items/special")).unwrap();
        let (_, gre) = t("/items/{rest+}")
            .matches(&segs("/items/special"))
            .unwrap();
        assert!(lit > par && par > gre);
    }

    proptest::proptest! {
        /// A template of literals and `{params}`, matched by a path that fills each param with
        /// any one segment: it matches, captures each value (escaped again), and no path with
        /// one literal changed or one segment more or less matches.
        #[test]
        fn templates_match_exactly_their_shape(
            shape in proptest::collection::vec(proptest::option::of("[a-z]{1,6}"), 1..6),
            values in proptest::collection::vec("[^/]{1,8}", 6),
        ) {
            let template: String = shape
                .iter()
                .enumerate()
                .map(|(i, s)| match s {
                    Some(lit) => format!("/{lit}"),
                    None => format!("/{{p{i}}}"),
                })
                .collect();
            let t = t(&template);
            let path: Vec<String> = shape
                .iter()
                .zip(&values)
                .map(|(s, v)| s.clone().unwrap_or_else(|| v.clone()))
                .collect();
            let (params, _) = t.matches(&path).expect("its own shape matches");
            for (i, s) in shape.iter().enumerate() {
                if s.is_none() {
                    let mut want = String::new();
                    encode_segment(&values[i], &mut want);
                    proptest::prop_assert_eq!(&params[&format!("p{i}")], &want);
                }
            }
            let mut longer = path.clone();
            longer.push("x".to_owned());
            proptest::prop_assert!(t.matches(&longer).is_none());
            proptest::prop_assert!(t.matches(&path[..path.len() - 1]).is_none());
            if let Some(i) = shape.iter().position(Option::is_some) {
                let mut changed = path.clone();
                changed[i].push('Z');
                proptest::prop_assert!(t.matches(&changed).is_none());
            }
        }
    }
}
