"""SparkSubmitOperator for one pipeline step: a permanent exit code (pipeline/exit_codes.py) fails with no retry."""
from __future__ import annotations

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk.exceptions import AirflowFailException

from pipeline import exit_codes


def submit_returncode(hook) -> int | None:
    """spark-submit's exit code from the provider's hook (its Popen, kept after `submit`); None if it never ran.

    In client mode (local[*], spark://, yarn client) spark-submit exits with the Python driver's code, so this is the
    pipeline CLI's code. In cluster deploy modes spark-submit does not carry the driver's code: failures there are
    never classed permanent and keep their retries."""
    process = getattr(hook, "_submit_sp", None)
    return None if process is None else process.returncode


class PipelineStageOperator(SparkSubmitOperator):
    """Runs the pipeline CLI under spark-submit; a config, input or data error ends the task at once (no retries),
    anything else (a JVM crash, a lost executor, an OOM kill) fails as usual and is retried."""

    def execute(self, context):
        try:
            return super().execute(context)
        except Exception as e:
            code = submit_returncode(self._hook)
            if not exit_codes.is_permanent(code):
                raise
            line = exit_codes.error_line(getattr(self._hook, "_last_submit_log_lines", ())) or \
                exit_codes.error_line(str(e).splitlines())
            raise AirflowFailException(f"{self.task_id}: exit code {code}, which a retry cannot fix: "
                                       f"{line or 'see the stage log above'}") from e
