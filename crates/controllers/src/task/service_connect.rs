//! ECS Service Connect, locally: the names a service offers become DNS aliases of its awsvpc
//! tasks on the cluster network. There is no proxy, so a client alias must use the container
//! port itself; what cannot work is refused with the reason (the task fails to start).

use api::service::ServiceConnectConfiguration;
use api::taskdef::{NetworkMode, TaskDefinitionSpec};

/// The DNS names a task of the service answers to (besides the service's own name), or why
/// the configuration cannot work for a task of `taskdef` (`family:N`).
pub fn aliases(
    sc: &ServiceConnectConfiguration,
    td: &TaskDefinitionSpec,
    taskdef: &str,
) -> Result<Vec<String>, String> {
    let names = sc.names();
    if names.is_empty() {
        return Ok(Vec::new());
    }
    if td.network_mode() != NetworkMode::Awsvpc {
        return Err(format!(
            "Service Connect: ecsctl gives the names of serviceConnectConfiguration to awsvpc tasks only, and {taskdef} has networkMode {}: set networkMode: awsvpc",
            td.network_mode().as_str()
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for (name, port_name, port) in names {
        let Some(container_port) = container_port(td, port_name) else {
            return Err(format!(
                "Service Connect: portName {port_name:?} names no portMappings entry of {taskdef} (portMappings[].name)"
            ));
        };
        if let Some(p) = port
            && p != container_port
        {
            return Err(format!(
                "Service Connect: client alias {name}:{p} would need a proxy from port {p} to containerPort {container_port} of portName {port_name:?}, which ecsctl does not run: set clientAliases[].port to {container_port}"
            ));
        }
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

fn container_port(td: &TaskDefinitionSpec, port_name: &str) -> Option<u16> {
    td.container_definitions
        .iter()
        .flat_map(|c| &c.port_mappings)
        .find(|m| m.name.as_deref() == Some(port_name))
        .and_then(|m| m.container_port)
        .map(|p| p.get())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn td(mode: &str) -> TaskDefinitionSpec {
        serde_json::from_value(json!({"networkMode": mode, "containerDefinitions": [
            {"name": "app", "image": "x", "memory": 64,
             "portMappings": [{"containerPort": 8080, "name": "http"}]}]}))
        .expect("td")
    }

    fn sc(v: serde_json::Value) -> ServiceConnectConfiguration {
        serde_json::from_value(v).expect("sc")
    }

    #[test]
    fn names_come_from_discovery_names_and_client_aliases() {
        let c = sc(
            json!({"enabled": true, "namespace": "internal", "services": [
            {"portName": "http", "discoveryName": "api",
             "clientAliases": [{"port": 8080, "dnsName": "api.internal"}, {"port": 8080}]}]}),
        );
        assert_eq!(
            aliases(&c, &td("awsvpc"), "web:1"),
            Ok(vec!["api".to_string(), "api.internal".to_string()])
        );
        let client_only = sc(json!({"enabled": true, "namespace": "internal"}));
        assert_eq!(aliases(&client_only, &td("bridge"), "web:1"), Ok(vec![]));
        let disabled = sc(json!({"enabled": false, "services": [{"portName": "nope"}]}));
        assert_eq!(aliases(&disabled, &td("bridge"), "web:1"), Ok(vec![]));
    }

    #[test]
    fn what_would_need_the_proxy_is_refused_with_the_way_out() {
        let other_port = sc(json!({"enabled": true, "services": [
            {"portName": "http", "clientAliases": [{"port": 80, "dnsName": "api"}]}]}));
        let e = aliases(&other_port, &td("awsvpc"), "web:1").unwrap_err();
        assert!(
            e.contains("client alias api:80") && e.contains("set clientAliases[].port to 8080"),
            "{e}"
        );
        let unknown = sc(json!({"enabled": true, "services": [{"portName": "grpc"}]}));
        let e = aliases(&unknown, &td("awsvpc"), "web:1").unwrap_err();
        assert!(
            e.contains("portName \"grpc\" names no portMappings entry of web:1"),
            "{e}"
        );
        let plain = sc(json!({"enabled": true, "services": [{"portName": "http"}]}));
        let e = aliases(&plain, &td("bridge"), "web:1").unwrap_err();
        assert!(
            e.contains("networkMode bridge") && e.contains("awsvpc"),
            "{e}"
        );
    }
}
