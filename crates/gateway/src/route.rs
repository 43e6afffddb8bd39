//! Resource path templates: literal segments, `{param}` for one segment, a final `{name+}`
//! for one or more. When several routes match, the most specific wins, as in API Gateway: a
//! literal segment beats a parameter, a parameter beats a greedy tail, and an exact method
//! beats `ANY`.

use std::collections::BTreeMap;

use parallax_model::topology::{Method, RoutePath};

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

    /// Matches a request path (without stage, without query); the parameters on success, and a
    /// specificity score to rank matches (higher is more specific).
    pub fn matches(&self, path: &str) -> Option<(BTreeMap<String, String>, Vec<u8>)> {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut params = BTreeMap::new();
        let mut score = Vec::with_capacity(self.segments.len());
        for (i, seg) in self.segments.iter().enumerate() {
            match seg {
                Segment::Literal(l) => {
                    if parts.get(i) != Some(&l.as_str()) {
                        return None;
                    }
                    score.push(3);
                }
                Segment::Param(name) => {
                    params.insert(name.clone(), (*parts.get(i)?).to_owned());
                    score.push(2);
                }
                Segment::Greedy(name) => {
                    if parts.len() <= i {
                        return None;
                    }
                    params.insert(name.clone(), parts[i..].join("/"));
                    score.push(1);
                    return Some((params, score));
                }
            }
        }
        (parts.len() == self.segments.len()).then_some((params, score))
    }
}

/// Whether a route's method accepts the request's.
pub fn method_matches(route: Method, request: &str) -> bool {
    route == Method::Any || method_name(route) == request
}

pub fn method_name(m: Method) -> &'static str {
    match m {
        Method::Get => "GET",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Patch => "PATCH",
        Method::Delete => "DELETE",
        Method::Head => "HEAD",
        Method::Options => "OPTIONS",
        Method::Any => "ANY",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(p: &str) -> Template {
        Template::new(&RoutePath::try_from(p.to_owned()).unwrap())
    }

    #[test]
    fn literals_params_and_greedy() {
        assert!(t("/test").matches("/test").is_some());
        assert!(t("/test").matches("/test/x").is_none());
        assert!(t("/").matches("/").is_some());
        let (p, _) = t("/items/{id}").matches("/items/42").unwrap();
        assert_eq!(p["id"], "42");
        assert!(t("/items/{id}").matches("/items").is_none());
        let (p, _) = t("/onprem/{proxy+}").matches("/onprem/a/b/c").unwrap();
        assert_eq!(p["proxy"], "a/b/c");
        assert!(
            t("/onprem/{proxy+}").matches("/onprem").is_none(),
            "greedy needs one segment"
        );
    }

    #[test]
    fn more_specific_scores_higher() {
        let (_, lit) = t("/items/special").matches("/items/special").unwrap();
        let (_, par) = t("/items/{id}").matches("/items/special").unwrap();
        let (_, gre) = t("/items/{rest+}").matches("/items/special").unwrap();
        assert!(lit > par && par > gre);
    }
}
