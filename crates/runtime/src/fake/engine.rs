//! The [`ContainerRuntime`] calls of [`FakeRuntime`], and the timers that play scripted
//! processes (exits, health checks, ignored SIGTERMs) on tokio's clock.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use futures::{StreamExt, stream};
use tokio_stream::wrappers::{BroadcastStream, errors::BroadcastStreamRecvError};

use super::FakeRuntime;
use super::behavior::{Op, SignalReaction, signal_number};
use super::state::{FakeVolume, Msg, health_delay};
use crate::error::{Result, RuntimeError};
use crate::runtime::{BoxStream, ContainerRuntime, end_after_error};
use crate::types::exec::{ExecSession, ExecSpec};
use crate::types::observed::{
    ContainerInfo, ContainerSummary, EventAction, ExecOutput, LogLine, MachineInfo, RuntimeEvent,
    Stats, VersionInfo, VolumeInfo,
};
use crate::types::packet_filter::PacketFilter;
use crate::types::spec::{ContainerId, ContainerSpec, NetworkId};

impl FakeRuntime {
    /// Plays what the process does after start `run`: exit on its own, settle its health.
    fn schedule(&self, id: &ContainerId, run: u64) {
        let (exit_after, health) = {
            let s = self.state();
            let Ok(c) = s.get(id) else { return };
            let health = c
                .health
                .and(c.behavior.health)
                .map(|h| (health_delay(&c.spec, h), h));
            (c.behavior.exit_after, health)
        };
        if let Some((after, code)) = exit_after {
            if after.is_zero() {
                self.state().exit(id, code, false);
            } else {
                let (fake, id) = (self.clone(), id.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(after).await;
                    let mut s = fake.state();
                    if s.get(&id).is_ok_and(|c| c.run == run && c.state.is_alive()) {
                        s.exit(&id, code, false);
                    }
                });
            }
        }
        if let Some((after, status)) = health {
            let (fake, id) = (self.clone(), id.clone());
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                let mut s = fake.state();
                if s.get(&id).is_ok_and(|c| c.run == run && c.state.is_alive()) {
                    let _ = s.set_health(&id, status);
                }
            });
        }
    }

    /// Delivers a signal; returns how the process reacts (`None`: it is not running).
    fn signal(&self, id: &ContainerId, signal: &str) -> Result<Option<SignalReaction>> {
        let mut s = self.state();
        let c = s.get(id)?;
        if !c.state.is_alive() {
            return Ok(None);
        }
        let n = signal_number(signal)
            .ok_or_else(|| RuntimeError::Other(format!("invalid signal: {signal}")))?;
        let reaction = match n {
            9 => SignalReaction::Exit(137),
            15 => c.behavior.on_term,
            28 => SignalReaction::Ignore,
            n => SignalReaction::Exit(128 + n),
        };
        s.emit(
            id,
            EventAction::Kill {
                signal: Some(n.to_string()),
            },
        );
        if let SignalReaction::Exit(code) = reaction {
            s.exit(id, code, false);
        }
        Ok(Some(reaction))
    }
}

#[async_trait]
impl ContainerRuntime for FakeRuntime {
    async fn ping(&self) -> Result<VersionInfo> {
        self.state().begin(Op::Ping, "")?;
        Ok(VersionInfo {
            version: "fake".to_owned(),
            api_version: "1.41".to_owned(),
            os: "linux".to_owned(),
            arch: "amd64".to_owned(),
        })
    }

    async fn machine(&self) -> Result<MachineInfo> {
        let mut s = self.state();
        s.begin(Op::Machine, "")?;
        Ok(s.machine)
    }

    async fn image_exists(&self, image: &str) -> Result<bool> {
        let mut s = self.state();
        s.begin(Op::ImageExists, image)?;
        Ok(s.images.contains(&super::state::normalize_image(image)))
    }

    async fn import_image(
        &self,
        reference: &str,
        _rootfs_tar: Vec<u8>,
        _entrypoint: &[String],
    ) -> Result<()> {
        let mut s = self.state();
        s.begin(Op::ImportImage, reference)?;
        s.images.insert(super::state::normalize_image(reference));
        Ok(())
    }

    async fn create(&self, spec: &ContainerSpec) -> Result<ContainerId> {
        let mut s = self.state();
        s.begin(Op::Create, &spec.name)?;
        s.create(spec)
    }

    async fn start(&self, id: &ContainerId) -> Result<()> {
        let run = {
            let mut s = self.state();
            s.begin(Op::Start, id.as_str())?;
            let id = s.resolve(id.as_str())?;
            s.start(&id)?.map(|run| (id, run))
        };
        if let Some((id, run)) = run {
            self.schedule(&id, run);
        }
        Ok(())
    }

    async fn stop(&self, id: &ContainerId, timeout: Duration) -> Result<()> {
        let (id, signal, run) = {
            let mut s = self.state();
            s.begin(Op::Stop, id.as_str())?;
            let id = s.resolve(id.as_str())?;
            let c = s.get(&id)?;
            let signal = c
                .spec
                .stop_signal
                .clone()
                .unwrap_or_else(|| "SIGTERM".to_owned());
            (id, signal, c.run)
        };
        let reaction = self.signal(&id, &signal)?;
        if reaction.is_none() {
            // Not running: nothing to do, as Docker's 304.
            return Ok(());
        }
        if reaction == Some(SignalReaction::Ignore) {
            // As Docker: wait out the grace period, then SIGKILL.
            tokio::time::sleep(timeout).await;
            let mut s = self.state();
            if s.get(&id).is_ok_and(|c| c.run == run && c.state.is_alive()) {
                s.emit(
                    &id,
                    EventAction::Kill {
                        signal: Some("9".to_owned()),
                    },
                );
                s.exit(&id, 137, false);
            }
        }
        let mut s = self.state();
        if s.get(&id).is_ok() {
            s.emit(&id, EventAction::Stop);
        }
        Ok(())
    }

    async fn kill(&self, id: &ContainerId, signal: &str) -> Result<()> {
        let id = {
            let mut s = self.state();
            s.begin(Op::Kill, id.as_str())?;
            s.resolve(id.as_str())?
        };
        match self.signal(&id, signal)? {
            Some(_) => Ok(()),
            None => Err(RuntimeError::Conflict(format!(
                "container {id} is not running"
            ))),
        }
    }

    async fn remove(&self, id: &ContainerId, force: bool) -> Result<()> {
        let mut s = self.state();
        s.begin(Op::Remove, id.as_str())?;
        let id = s.resolve(id.as_str())?;
        if s.get(&id)?.state.is_alive() {
            if !force {
                return Err(RuntimeError::Conflict(format!(
                    "container {id} is running: stop it first or remove it with force"
                )));
            }
            s.emit(
                &id,
                EventAction::Kill {
                    signal: Some("9".to_owned()),
                },
            );
            s.exit(&id, 137, false);
        }
        s.remove(&id);
        Ok(())
    }

    async fn inspect(&self, id: &ContainerId) -> Result<ContainerInfo> {
        let mut s = self.state();
        s.begin(Op::Inspect, id.as_str())?;
        let id = s.resolve(id.as_str())?;
        Ok(s.get(&id)?.info())
    }

    async fn list(
        &self,
        label_filter: &BTreeMap<String, String>,
        all: bool,
    ) -> Result<Vec<ContainerSummary>> {
        let mut s = self.state();
        s.begin(Op::List, "")?;
        // Newest first, as Docker lists.
        let candidates = match label_filter.get(crate::labels::TASK) {
            Some(task) => s.by_task.get(task).map(Vec::as_slice).unwrap_or_default(),
            None => s.creation.as_slice(),
        };
        Ok(candidates
            .iter()
            .rev()
            .filter_map(|id| s.containers.get(id))
            .filter(|c| all || c.state.is_alive())
            .filter(|c| matches_labels(&c.spec.labels, label_filter))
            .map(|c| c.summary())
            .collect())
    }

    fn events(&self, label_filter: &BTreeMap<String, String>) -> BoxStream<Result<RuntimeEvent>> {
        // Subscribe before returning: events from now on are kept for this stream.
        let rx = self.shared.events.subscribe();
        if let Err(e) = self.state().begin(Op::Events, "") {
            return stream::once(async move { Err(e) }).boxed();
        }
        let filter = label_filter.clone();
        let events = BroadcastStream::new(rx).filter_map(move |m| {
            let item = match m {
                Ok(Msg::Event(e)) if matches_labels(&e.labels, &filter) => Some(Ok(e)),
                Ok(Msg::Event(_)) => None,
                Ok(Msg::Disconnected) => Some(Err(RuntimeError::Unavailable(
                    "fake engine went down".to_owned(),
                ))),
                Err(BroadcastStreamRecvError::Lagged(n)) => Some(Err(RuntimeError::Other(
                    format!("event stream fell {n} events behind; list again"),
                ))),
            };
            futures::future::ready(item)
        });
        end_after_error(events)
    }

    async fn stats(&self, id: &ContainerId) -> Result<Stats> {
        let mut s = self.state();
        s.begin(Op::Stats, id.as_str())?;
        let id = s.resolve(id.as_str())?;
        Ok(s.get(&id)?.stats.borrow().clone())
    }

    fn logs(
        &self,
        id: &ContainerId,
        follow: bool,
        tail: Option<usize>,
    ) -> BoxStream<Result<LogLine>> {
        let start = {
            let mut s = self.state();
            s.begin(Op::Logs, id.as_str())
                .and_then(|()| s.resolve(id.as_str()))
                .and_then(|id| {
                    let c = s.get(&id)?;
                    let from = tail.map_or(0, |t| c.logs.len().saturating_sub(t));
                    Ok((id, from, c.changes.subscribe()))
                })
        };
        let (id, from, changes) = match start {
            Ok(x) => x,
            Err(e) => return stream::once(async move { Err(e) }).boxed(),
        };
        let fake = self.clone();
        // State: (next line index, change receiver, done). Each step yields the lines
        // printed since the last one; when following it waits for the next change and ends
        // once the container no longer runs.
        stream::unfold((from, changes, false), move |(next, mut changes, done)| {
            let (fake, id) = (fake.clone(), id.clone());
            async move {
                if done {
                    return None;
                }
                loop {
                    let (lines, alive) = {
                        let s = fake.state();
                        match s.get(&id) {
                            Ok(c) => (
                                c.logs.get(next..).unwrap_or_default().to_vec(),
                                c.state.is_alive(),
                            ),
                            Err(_) => (Vec::new(), false),
                        }
                    };
                    let finished = !follow || !alive;
                    if !lines.is_empty() || finished {
                        let n = next + lines.len();
                        return Some((lines, (n, changes, finished)));
                    }
                    if changes.changed().await.is_err() {
                        return None;
                    }
                }
            }
        })
        .flat_map(|lines| stream::iter(lines.into_iter().map(Ok)))
        .boxed()
    }

    async fn exec(&self, id: &ContainerId, _cmd: &[String]) -> Result<ExecOutput> {
        let mut s = self.state();
        s.begin(Op::Exec, id.as_str())?;
        let id = s.resolve(id.as_str())?;
        let c = s.get(&id)?;
        if !c.state.is_alive() {
            return Err(RuntimeError::Conflict(format!(
                "container {id} is not running"
            )));
        }
        Ok(c.behavior.exec_output.clone())
    }

    async fn exec_attach(&self, id: &ContainerId, spec: &ExecSpec) -> Result<ExecSession> {
        self.attach_exec(id, spec)
    }

    async fn exec_resize(&self, exec_id: &str, cols: u16, rows: u16) -> Result<()> {
        self.resize_exec(exec_id, cols, rows)
    }

    async fn exec_exit_code(&self, exec_id: &str) -> Result<Option<i64>> {
        self.exec_exit(exec_id)
    }

    async fn ensure_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<NetworkId> {
        let mut s = self.state();
        s.begin(Op::EnsureNetwork, name)?;
        if !s.networks.contains_key(name) {
            s.add_network(name, labels.clone(), false);
        }
        s.networks
            .get(name)
            .map(|n| NetworkId(n.id.clone()))
            .ok_or_else(|| RuntimeError::NotFound(format!("network {name}")))
    }

    async fn remove_network(&self, name: &str) -> Result<()> {
        let mut s = self.state();
        s.begin(Op::RemoveNetwork, name)?;
        let key = s
            .networks
            .iter()
            .find(|(n, net)| n.as_str() == name || net.id == name)
            .map(|(n, net)| (n.clone(), net.predefined))
            .ok_or_else(|| RuntimeError::NotFound(format!("network {name}")))?;
        if key.1 {
            return Err(RuntimeError::Conflict(format!(
                "{name} is a pre-defined network and cannot be removed"
            )));
        }
        if s.network_in_use(&key.0) {
            return Err(RuntimeError::Conflict(format!(
                "network {name} has active endpoints"
            )));
        }
        s.networks.remove(&key.0);
        Ok(())
    }

    async fn create_volume(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
        driver_opts: &BTreeMap<String, String>,
    ) -> Result<()> {
        let mut s = self.state();
        s.begin(Op::CreateVolume, name)?;
        s.volumes
            .entry(name.to_owned())
            .or_insert_with(|| FakeVolume {
                labels: labels.clone(),
                driver_opts: driver_opts.clone(),
            });
        Ok(())
    }

    async fn remove_volume(&self, name: &str) -> Result<()> {
        let mut s = self.state();
        s.begin(Op::RemoveVolume, name)?;
        if !s.volumes.contains_key(name) {
            return Err(RuntimeError::NotFound(format!("volume {name}")));
        }
        if s.volume_in_use(name) {
            return Err(RuntimeError::Conflict(format!("volume {name} is in use")));
        }
        s.volumes.remove(name);
        Ok(())
    }

    async fn inspect_volume(&self, name: &str) -> Result<VolumeInfo> {
        let mut s = self.state();
        s.begin(Op::InspectVolume, name)?;
        s.volumes
            .get(name)
            .map(|v| VolumeInfo {
                name: name.to_owned(),
                labels: v.labels.clone(),
            })
            .ok_or_else(|| RuntimeError::NotFound(format!("volume {name}")))
    }

    async fn list_volumes(
        &self,
        label_filter: &BTreeMap<String, String>,
    ) -> Result<Vec<VolumeInfo>> {
        let mut s = self.state();
        s.begin(Op::ListVolumes, "")?;
        Ok(s.volumes
            .iter()
            .filter(|(_, v)| matches_labels(&v.labels, label_filter))
            .map(|(name, v)| VolumeInfo {
                name: name.clone(),
                labels: v.labels.clone(),
            })
            .collect())
    }

    async fn network_gateway(&self, name: &str) -> Result<Option<std::net::Ipv4Addr>> {
        let mut s = self.state();
        s.begin(Op::NetworkGateway, name)?;
        let net = s
            .networks
            .get(name)
            .ok_or_else(|| RuntimeError::NotFound(format!("network {name}")))?;
        // Addresses are 172.SUBNET.x.y from .0.2 on (see `allocate_ip`); Docker's gateway is .1.
        Ok(u8::try_from(net.subnet)
            .ok()
            .map(|n| std::net::Ipv4Addr::new(172, n, 0, 1)))
    }

    async fn load_packet_filter(&self, id: &ContainerId, filter: &PacketFilter) -> Result<()> {
        let mut s = self.state();
        s.begin(Op::LoadPacketFilter, id.as_str())?;
        let id = s.resolve(id.as_str())?;
        if !s.get(&id)?.state.is_alive() {
            return Err(RuntimeError::Conflict(format!(
                "container {id} is not running"
            )));
        }
        s.packet_filters.insert(id, filter.clone());
        Ok(())
    }
}

/// Every filter label is present with the same value.
fn matches_labels(labels: &BTreeMap<String, String>, filter: &BTreeMap<String, String>) -> bool {
    filter.iter().all(|(k, v)| labels.get(k) == Some(v))
}
