//! From text to validated objects: read the stream, import each document (manifest or ECS
//! JSON), validate it, and tie every problem to a file, document, line and column.

use crate::diag::{Diagnostic, FieldError};
use crate::import::{Mapping, import_document};
use crate::object::Object;
use crate::source::{Node, parse_stream};

/// Options of `parse_source`.
#[derive(Debug, Clone, Default)]
pub struct ParseOptions {
    /// Drop ECS fields that ecsctl does not implement yet with a warning, instead of an error.
    pub warn_unknown: bool,
}

/// One valid document.
#[derive(Debug, Clone)]
pub struct ParsedDocument {
    /// 0-based index of the document in its source.
    pub index: usize,
    pub object: Object,
    pub warnings: Vec<Diagnostic>,
}

/// Parses and validates every document of one source. Either all documents are valid, or
/// every problem found in any of them is returned.
pub fn parse_source(
    source: &str,
    text: &str,
    opts: &ParseOptions,
) -> Result<Vec<ParsedDocument>, Vec<Diagnostic>> {
    let docs = parse_stream(source, text).map_err(|d| vec![d])?;
    if docs.is_empty() {
        return Err(vec![Diagnostic::source_level(
            source,
            "no documents: the file is empty",
        )]);
    }
    let mut parsed = Vec::with_capacity(docs.len());
    let mut errors = Vec::new();
    for (index, node) in docs.iter().enumerate() {
        match parse_document(source, index, node, opts) {
            Ok(p) => parsed.push(p),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(parsed)
    } else {
        Err(errors)
    }
}

fn parse_document(
    source: &str,
    index: usize,
    node: &Node,
    opts: &ParseOptions,
) -> Result<ParsedDocument, Vec<Diagnostic>> {
    let at = |e: &FieldError| locate(source, index, node, &e.path, &e.message);
    let json = node.to_json();
    let imported = import_document(&json, opts.warn_unknown)
        .map_err(|es| es.iter().map(at).collect::<Vec<_>>())?;
    let report = crate::validate::check(&imported.object);
    let map = |e: &FieldError| {
        let path = imported.mapping.to_document_path(&e.path);
        locate(source, index, node, &path, &e.message)
    };
    if !report.errors.is_empty() {
        return Err(report.errors.iter().map(map).collect());
    }
    let mut warnings: Vec<Diagnostic> = imported.warnings.iter().map(at).collect();
    warnings.extend(report.warnings.iter().map(map));
    Ok(ParsedDocument {
        index,
        object: imported.object,
        warnings,
    })
}

/// A diagnostic at `path` of the document, with the line and column of the deepest node on
/// that path that exists (a missing field points at the map that should hold it).
fn locate(source: &str, index: usize, node: &Node, path: &str, message: &str) -> Diagnostic {
    let (n, _) = node.locate(path);
    Diagnostic {
        source: source.to_string(),
        document: Some(index),
        line: Some(n.line),
        column: Some(n.column),
        path: path.to_string(),
        message: message.to_string(),
    }
}

/// Where an object's parts sit in a manifest (for callers that build objects themselves).
pub fn manifest_mapping() -> Mapping {
    Mapping {
        spec: "spec".into(),
        name: "metadata.name".into(),
        cluster: "metadata.cluster".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEB: &str = "\
apiVersion: ecs/v1
kind: TaskDefinition
metadata:
  name: web
spec:
  containerDefinitions:
    - name: app
      image: busybox
      memory: 64
    - name: side
      image: busybox
      memory: 64
      portMappings:
        - containerPort: http
";

    #[test]
    fn error_names_file_line_column_and_path() {
        let e = parse_source("web.yaml", WEB, &ParseOptions::default()).unwrap_err();
        assert_eq!(
            e[0].to_string(),
            "web.yaml:14:26: spec.containerDefinitions[1].portMappings[0].containerPort: expected an integer 1..65535, got \"http\""
        );
    }

    #[test]
    fn unknown_field_points_at_the_field() {
        let text = WEB.replace(
            "        - containerPort: http\n",
            "        - containerPort: 80\n      portBindings: []\n",
        );
        let e = parse_source("web.yaml", &text, &ParseOptions::default()).unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(
            e[0].to_string(),
            "web.yaml:15:21: spec.containerDefinitions[1].portBindings: unknown field \"portBindings\" (did you mean \"portMappings\"?)"
        );
    }

    #[test]
    fn raw_ecs_json_maps_paths_back() {
        let text = r#"{
  "family": "My_App",
  "taskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/My_App:3",
  "networkMode": "default",
  "containerDefinitions": [{"name": "a", "image": "x", "memory": 64}]
}"#;
        let e = parse_source("td.json", text, &ParseOptions::default()).unwrap_err();
        assert_eq!(
            e[0].to_string(),
            "td.json:4:18: networkMode: expected one of bridge, host, awsvpc, none, got \"default\""
        );
        let ok = parse_source(
            "td.json",
            &text.replace("\"default\"", "\"bridge\""),
            &ParseOptions::default(),
        )
        .unwrap();
        // The ECS name is the object's name, exactly as written.
        assert_eq!(ok[0].object.metadata.name, "My_App");
        let w: Vec<String> = ok[0].warnings.iter().map(ToString::to_string).collect();
        assert!(
            w.iter().any(|w| w.contains("taskDefinitionArn: read-only")),
            "{w:?}"
        );
        assert!(!w.iter().any(|w| w.contains("stored as")), "{w:?}");
    }

    #[test]
    fn multi_document_errors_name_the_document() {
        let text =
            format!("{WEB}---\napiVersion: ecs/v1\nkind: Pod\nmetadata: {{name: x}}\nspec: {{}}\n");
        let e = parse_source("m.yaml", &text, &ParseOptions::default()).unwrap_err();
        assert_eq!(e.len(), 2);
        assert_eq!(e[1].document, Some(1));
        assert!(
            e[1].to_string()
                .starts_with("m.yaml:17:7: kind: unknown kind \"Pod\""),
            "{}",
            e[1]
        );
    }

    #[test]
    fn service_json_is_recognised() {
        let text = r#"{"serviceName": "Web_Svc", "cluster": "arn:aws:ecs:us-east-1:1:cluster/Prod",
            "taskDefinition": "arn:aws:ecs:us-east-1:1:task-definition/web:3", "desiredCount": 2,
            "runningCount": 2}"#;
        let ok = parse_source("s.json", text, &ParseOptions::default()).unwrap();
        let o = &ok[0].object;
        assert_eq!(
            (o.metadata.name.as_str(), o.metadata.cluster.as_deref()),
            ("Web_Svc", Some("Prod"))
        );
        assert_eq!(o.spec["taskDefinition"], "web:3");
        assert!(
            ok[0]
                .warnings
                .iter()
                .all(|w| !w.message.contains("stored as"))
        );
        // clientToken (CreateService's idempotency token) is accepted and ignored, with a word.
        let with_token = text.replace(
            "\"desiredCount\": 2",
            "\"desiredCount\": 2, \"clientToken\": \"abc\"",
        );
        let ok = parse_source("s.json", &with_token, &ParseOptions::default()).unwrap();
        assert!(ok[0].object.spec.get("clientToken").is_none());
        assert!(
            ok[0]
                .warnings
                .iter()
                .any(|w| w.path == "clientToken" && w.message.contains("ignored")),
            "{:?}",
            ok[0].warnings
        );
    }
}
