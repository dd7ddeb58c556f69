//! In-memory stand-ins for what verification hooks call: scripted HTTP answers, functions and
//! one-off tasks, each recording what it was asked.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use ferry_core::hooks::{FunctionAnswer, TaskState};
use ferry_core::ports::{
    FunctionInvoker, HttpAnswer, HttpProbe, ListenerAddresses, OneOffTask, OneOffTasks, PortError,
    PortResult,
};

/// The test listener's address [`MemoryHooks`] gives for every listener.
pub const TEST_LISTENER_URL: &str = "http://test-alb.example:8080";

/// Scripted answers, consumed in order; the last one repeats.
struct Script<T: Clone> {
    queue: VecDeque<T>,
    last: Option<T>,
}

impl<T: Clone> Script<T> {
    fn next(&mut self) -> Option<T> {
        if let Some(next) = self.queue.pop_front() {
            self.last = Some(next.clone());
        }
        self.last.clone()
    }
}

impl<T: Clone> Default for Script<T> {
    fn default() -> Self {
        Self {
            queue: VecDeque::new(),
            last: None,
        }
    }
}

/// One fake for every hook port.
#[derive(Default)]
pub struct MemoryHooks {
    http: Mutex<Script<PortResult<HttpAnswer>>>,
    /// The URLs requested, in order.
    pub requested: Mutex<Vec<String>>,
    functions: Mutex<Script<PortResult<FunctionAnswer>>>,
    /// `(function, payload)` of each invocation.
    pub invoked: Mutex<Vec<(String, serde_json::Value)>>,
    tasks: Mutex<Script<TaskState>>,
    run_failure: Mutex<Option<PortError>>,
    /// Tasks started, by client token: a repeat with a token returns the task it started.
    pub started: Mutex<HashMap<String, (String, OneOffTask)>>,
    /// `RunTask` calls, counting repeats.
    pub run_calls: Mutex<usize>,
    /// Tasks stopped, with the reason.
    pub stopped: Mutex<Vec<(String, String)>>,
}

impl MemoryHooks {
    pub fn new() -> Self {
        Self::default()
    }

    /// The next `http` answers: `(status, body)`.
    pub fn answer_http(&self, answers: &[(u16, &str)]) {
        let mut script = self.http.lock().unwrap();
        for (status, body) in answers {
            script.queue.push_back(Ok(HttpAnswer {
                status: *status,
                body: body.to_string(),
            }));
        }
    }

    /// The next request fails without an answer (no connection, a timeout).
    pub fn fail_http(&self, error: PortError) {
        self.http.lock().unwrap().queue.push_back(Err(error));
    }

    /// The next answers of the function: its payloads.
    pub fn answer_function(&self, payloads: &[&str]) {
        let mut script = self.functions.lock().unwrap();
        for payload in payloads {
            script.queue.push_back(Ok(FunctionAnswer {
                payload: payload.to_string(),
                function_error: None,
            }));
        }
    }

    /// The next invocation raises (Lambda's `FunctionError: Unhandled`), or fails to happen.
    pub fn function_result(&self, result: PortResult<FunctionAnswer>) {
        self.functions.lock().unwrap().queue.push_back(result);
    }

    /// What `describe_task` reports next: `(lastStatus, exit code)`.
    pub fn task_states(&self, states: &[(&str, Option<i32>)]) {
        let mut script = self.tasks.lock().unwrap();
        for (status, exit_code) in states {
            script.queue.push_back(TaskState {
                arn: String::new(),
                last_status: status.to_string(),
                exit_code: *exit_code,
                stopped_reason: (*status == "STOPPED")
                    .then(|| "Essential container in task exited".to_string()),
            });
        }
    }

    /// `RunTask` fails with `error` from now on.
    pub fn refuse_tasks(&self, error: PortError) {
        *self.run_failure.lock().unwrap() = Some(error);
    }

    pub fn requested(&self) -> Vec<String> {
        self.requested.lock().unwrap().clone()
    }

    pub fn invocations(&self) -> Vec<(String, serde_json::Value)> {
        self.invoked.lock().unwrap().clone()
    }

    /// The distinct tasks started.
    pub fn tasks_started(&self) -> Vec<OneOffTask> {
        self.started
            .lock()
            .unwrap()
            .values()
            .map(|(_, task)| task.clone())
            .collect()
    }
}

#[async_trait]
impl HttpProbe for MemoryHooks {
    async fn get(&self, url: &str, _timeout: std::time::Duration) -> PortResult<HttpAnswer> {
        self.requested.lock().unwrap().push(url.to_string());
        self.http
            .lock()
            .unwrap()
            .next()
            .unwrap_or_else(|| Err(PortError::Transient(format!("cannot connect to {url}"))))
    }
}

#[async_trait]
impl FunctionInvoker for MemoryHooks {
    async fn invoke(
        &self,
        function: &str,
        payload: &serde_json::Value,
    ) -> PortResult<FunctionAnswer> {
        self.invoked
            .lock()
            .unwrap()
            .push((function.to_string(), payload.clone()));
        self.functions
            .lock()
            .unwrap()
            .next()
            .unwrap_or_else(|| Err(PortError::NotFound(format!("function {function}"))))
    }
}

#[async_trait]
impl OneOffTasks for MemoryHooks {
    async fn run_task(&self, task: &OneOffTask) -> PortResult<String> {
        *self.run_calls.lock().unwrap() += 1;
        if let Some(error) = self.run_failure.lock().unwrap().clone() {
            return Err(error);
        }
        let mut started = self.started.lock().unwrap();
        let count = started.len();
        let (arn, _) = started.entry(task.client_token.clone()).or_insert_with(|| {
            (
                format!(
                    "arn:aws:ecs:eu-west-1:123456789012:task/{}/hook{count}",
                    task.cluster
                ),
                task.clone(),
            )
        });
        Ok(arn.clone())
    }

    async fn describe_task(
        &self,
        _cluster: &str,
        task_arn: &str,
        _container: &str,
    ) -> PortResult<TaskState> {
        let known = self
            .started
            .lock()
            .unwrap()
            .values()
            .any(|(arn, _)| arn == task_arn);
        if !known {
            return Err(PortError::NotFound(format!("task {task_arn}")));
        }
        let mut state = self.tasks.lock().unwrap().next().unwrap_or(TaskState {
            arn: String::new(),
            last_status: "RUNNING".into(),
            exit_code: None,
            stopped_reason: None,
        });
        state.arn = task_arn.to_string();
        Ok(state)
    }

    async fn stop_task(&self, _cluster: &str, task_arn: &str, reason: &str) -> PortResult<()> {
        self.stopped
            .lock()
            .unwrap()
            .push((task_arn.to_string(), reason.to_string()));
        Ok(())
    }
}

#[async_trait]
impl ListenerAddresses for MemoryHooks {
    async fn listener_url(&self, _listener_arn: &str) -> PortResult<String> {
        Ok(TEST_LISTENER_URL.to_string())
    }
}
