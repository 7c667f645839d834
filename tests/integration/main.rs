//! The integration tests, in one binary so the suite links once: the CLI end to end, the
//! providers against scripted servers, reports, and the real local model and MLflow when
//! they are installed. Shared helpers live in [`support`].

mod cli_agent;
mod cli_baseline;
mod cli_cell;
mod cli_conversation;
mod cli_errors;
mod cli_external;
mod cli_faults;
mod cli_flags;
mod cli_history;
mod cli_judge;
mod cli_large_dataset;
mod cli_llamacpp;
mod cli_loop;
mod cli_messages;
mod cli_pipes;
mod cli_progress;
mod cli_prompt;
mod cli_prompt_tools;
mod cli_provider;
mod cli_report;
mod cli_resilience;
mod cli_run;
mod cli_scoring;
mod cli_tool_asserts;
mod cli_tool_calls;
mod cli_watch;
mod cli_width;
mod e2e_agent;
mod e2e_llamacpp;
mod e2e_mcp;
mod e2e_mcp_cli;
mod e2e_mcp_tools;
mod e2e_tools;
mod junit_schema;
mod mlflow;
mod mlflow_tools;
mod provider_agent;
mod provider_kinds;
mod provider_openai;
mod provider_tools;
mod report_html;
mod score_judge;
mod support;
