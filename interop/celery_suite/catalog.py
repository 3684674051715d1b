"""Which tests of celery 5.7.0's t/integration the interop harness runs.

Keys are pytest node ids relative to the extracted suite root, without a
parametrize suffix (a key covers all its parametrized cases).  Every test
function of test_tasks.py, test_canvas.py and test_group_chains.py appears in exactly one of
JUDGEABLE, NEEDS_PIDBOX or NOT_JUDGEABLE, each with a reason.
"""

CELERY_VERSION = "5.7.0"

# Tests that legitimately run longer than the default per-test timeout
# (fixed sleeps/BLPOP waits of 10 s per case); seconds.  With the Python
# worker they take about 145 s, 86 s and 68 s.
SLOW = {
    "t/integration/test_canvas.py::test_chord::test_disabling_flag_allow_error_cb_on_chord_header": 300,
    "t/integration/test_canvas.py::test_chord::test_enabling_flag_allow_error_cb_on_chord_header": 300,
    "t/integration/test_canvas.py::test_chord::test_flag_allow_error_cb_on_chord_header_on_upgraded_chord": 300,
}

# The default selection: basic single-task tests.
DEFAULT = [
    "t/integration/test_tasks.py::test_tasks::test_basic_task",
    "t/integration/test_tasks.py::test_tasks::test_fail",
    "t/integration/test_tasks.py::test_tasks::test_wrong_arguments",
    "t/integration/test_tasks.py::test_tasks::test_unicode_task",
    "t/integration/test_tasks.py::test_tasks::test_ignore_result",
]

# Judged from outside: they only talk to the worker through the broker and
# the result backend (and, for some canvas tests, Redis keys that tasks write).
JUDGEABLE = {
    't/integration/test_group_chains.py::test_group_chains::test_group_results_reach_the_next_group':
        'chains of groups (upgraded to chords) over protocol 1 and 2, frozen and serialized: results and executions counted in Redis',
    't/integration/test_group_chains.py::test_group_chains::test_pending_chord_keeps_header_errback':
        'a failing header task of a pending chord calls its errback; later levels never run (Redis lists)',
    't/integration/test_group_chains.py::test_group_chains::test_large_group_pipeline':
        '10 levels of 25-wide groups chained: result and one execution each',
    't/integration/test_tasks.py::test_class_based_tasks::test_class_based_task_retried':
        "worker registers class-based task 'auto_retry_class_task' (autoretry_for=ValueError, max_retries=1, retry_backoff) and retries it once",
    't/integration/test_tasks.py::test_tasks::test_basic_task':
        'add(x, y[, z]) with args and kwargs; SUCCESS results in the Redis backend',
    't/integration/test_tasks.py::test_tasks::test_task_sent_event_respects_publish_retry_limit':
        'client-side publish retry policy; the worker only has to run add(1, 2)',
    't/integration/test_tasks.py::test_tasks::test_ignore_result':
        'worker honours the ignore_result message header and stores no result',
    't/integration/test_tasks.py::test_tasks::test_reject_without_requeue_stores_failure':
        'task raises Reject(requeue=False): worker stores FAILURE with a Reject exception',
    't/integration/test_tasks.py::test_tasks::test_reject_with_requeue_redelivers_and_succeeds':
        "task raises Reject(requeue=True): worker requeues, redelivery sets delivery_info['redelivered']",
    't/integration/test_tasks.py::test_tasks::test_pydantic_annotations':
        'pydantic=True task: dict argument validated into a model, model result dumped to a dict',
    't/integration/test_tasks.py::test_tasks::test_pydantic_string_annotations':
        'pydantic=True task with string annotations',
    't/integration/test_tasks.py::test_tasks::test_pydantic_model_arguments':
        'pydantic=True task called with models (serialized to dicts by the client)',
    't/integration/test_tasks.py::test_tasks::test_timeout':
        'client-side get() timeout while the worker runs sleeping(10)',
    't/integration/test_tasks.py::test_tasks::test_expired':
        "worker marks messages past their 'expires' header REVOKED instead of running them",
    't/integration/test_tasks.py::test_tasks::test_eta':
        'worker holds countdown/eta messages until their ETA',
    't/integration/test_tasks.py::test_tasks::test_fail':
        'task raises ExpectedException: FAILURE with exc_type/exc_module the client can rebuild',
    't/integration/test_tasks.py::test_tasks::test_wrong_arguments':
        'typing=False task called with wrong arguments: worker stores a TypeError FAILURE',
    't/integration/test_tasks.py::test_tasks::test_retry':
        'self.retry(exc=..., countdown=5): RETRY state, then FAILURE with the exception or SUCCESS',
    't/integration/test_tasks.py::test_tasks::test_retry_switches_from_kwargs_to_args':
        'self.retry(args=...) replaces the message args; request.retries/is_eager',
    't/integration/test_tasks.py::test_tasks::test_retry_switches_from_args_to_kwargs':
        'self.retry(kwargs=...) replaces the message kwargs; request.retries/is_eager',
    't/integration/test_tasks.py::test_tasks::test_retry_with_unpickleable_exception':
        "RETRY state stored with an exception that can't round-trip (its final revoke is fire-and-forget)",
    't/integration/test_tasks.py::test_tasks::test_fail_with_unpickleable_exception':
        "FAILURE stored with an exception whose constructor can't be re-called with its args",
    't/integration/test_tasks.py::test_tasks::test_task_retried_once':
        'retry with countdown; returns request.retries',
    't/integration/test_tasks.py::test_tasks::test_task_retried_once_with_expires':
        "retry carrying 'expires'",
    't/integration/test_tasks.py::test_tasks::test_task_retried_priority':
        "retry keeps the message priority (delivery_info['priority'])",
    't/integration/test_tasks.py::test_tasks::test_task_retried_headers':
        'retry keeps custom message headers (request.headers)',
    't/integration/test_tasks.py::test_tasks::test_unicode_task':
        'group of print_unicode tasks (non-ASCII log/print) joined with propagate=True',
    't/integration/test_tasks.py::test_tasks::test_properties':
        'request.properties exposes the app_id message property',
    't/integration/test_tasks.py::test_tasks::test_request_time_limits_set_via_apply_async':
        'request.time_limit/soft_time_limit come from the timelimit header',
    't/integration/test_tasks.py::test_tasks::test_request_time_limits_none_when_not_configured':
        'request.time_limit/soft_time_limit are None without limits',
    't/integration/test_tasks.py::test_tasks::test_request_time_limits_from_task_declaration':
        "request time limits fall back to the task's declared limits",
    't/integration/test_tasks.py::test_tasks::test_apply_async_time_limits_override_task_declaration':
        "timelimit header overrides the task's declared limits",
    't/integration/test_tasks.py::test_task_redis_result_backend::test_ignoring_result_no_subscriptions':
        'client-side: no pub/sub subscription for an ignore_result task (fails if the worker opens new pub/sub channels meanwhile)',
    't/integration/test_tasks.py::test_task_redis_result_backend::test_asyncresult_forget_cancels_subscription':
        'client-side pub/sub hygiene around add(1, 2) (fails if the worker opens new pub/sub channels meanwhile)',
    't/integration/test_tasks.py::test_task_redis_result_backend::test_asyncresult_get_cancels_subscription':
        'client-side pub/sub hygiene around add(1, 2) (fails if the worker opens new pub/sub channels meanwhile)',
    't/integration/test_tasks.py::test_task_replacement::test_replaced_task_nesting_increments':
        'Task.replace() in the worker increments the replaced_task_nesting header',
    't/integration/test_tasks.py::test_pool_acquire_timeout::test_task_succeeds_with_pool_timeout_configured':
        'client-side producer pool setting; the worker only has to run add',
    't/integration/test_tasks.py::test_pool_acquire_timeout::test_pool_timeout_none_blocks_successfully':
        'client-side producer pool setting; the worker only has to run add',
    't/integration/test_tasks.py::test_pool_acquire_timeout::test_concurrent_apply_async_with_timeout':
        '50 concurrent add() calls from 20 client threads',
    't/integration/test_canvas.py::test_link_error::test_mutable_errback_with_stored_arguments':
        'errbacks (link_error) applied by the worker; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_link_error::test_link_error_callback_retries':
        'errbacks (link_error) applied by the worker',
    't/integration/test_canvas.py::test_link_error::test_link_error_using_signature':
        'errbacks (link_error) applied by the worker',
    't/integration/test_canvas.py::test_chain::test_simple_chain':
        "chain continuation from the message's chain field",
    't/integration/test_canvas.py::test_chain::test_single_chain':
        "chain continuation from the message's chain field",
    't/integration/test_canvas.py::test_chain::test_complex_chain':
        "Task.replace() executed in the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chain::test_group_results_in_chain':
        "chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chain::test_chain_of_chain_with_a_single_task':
        "chain continuation from the message's chain field",
    't/integration/test_canvas.py::test_chain::test_chain_on_error':
        "chain continuation from the message's chain field",
    't/integration/test_canvas.py::test_chain::test_chain_inside_group_receives_arguments':
        "chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chain::test_group_chord_group_chain':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads",
    't/integration/test_canvas.py::test_chain::test_group_result_not_has_cache':
        "chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chain::test_second_order_replace':
        "Task.replace() executed in the worker; chain continuation from the message's chain field; tasks write Redis lists/counters the test reads",
    't/integration/test_canvas.py::test_chain::test_replace_with_chain_that_contains_a_group':
        "Task.replace() executed in the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chain::test_chord_soft_timeout_recuperation':
        'worker enforces soft_time_limit by raising SoftTimeLimitExceeded inside the task; chord body dispatch',
    't/integration/test_canvas.py::test_chain::test_chain_error_handler_with_eta':
        "chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chain::test_groupresult_serialization':
        "chain continuation from the message's chain field",
    't/integration/test_canvas.py::test_chain::test_chain_of_task_a_group_and_a_chord':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chain::test_chain_of_chords_as_groups_chained_to_a_task_with_two_tasks':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chain::test_chain_of_chords_with_two_tasks':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chain::test_chain_of_explicit_chords':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chain::test_header_failure_fails_the_chords_after_it':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chain::test_header_failure_fails_the_chords_after_a_group_body':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chain::test_chain_of_nine_chords':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chain::test_chain_of_nine_implicit_chords':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chain::test_chain_with_a_nested_chain_led_by_a_group':
        "chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chain::test_chain_with_a_deserialised_chain_led_by_a_group':
        "chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chain::test_chain_of_a_chord_and_a_group_with_two_tasks':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chain::test_chain_of_a_chord_and_a_task_and_a_group':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chain::test_chain_of_a_chord_and_two_tasks_and_a_group':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chain::test_chain_of_a_chord_and_three_tasks_and_a_group':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chain::test_nested_chain_group_lone':
        "chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chain::test_nested_chain_group_mid':
        "chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chain::test_nested_chain_group_last':
        "chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chain::test_chain_replaced_with_a_chain_and_a_callback':
        "Task.replace() executed in the worker; callbacks (link) applied by the worker; chain continuation from the message's chain field; tasks write Redis lists/counters the test reads",
    't/integration/test_canvas.py::test_chain::test_chain_replaced_with_a_chain_and_an_error_callback':
        "Task.replace() executed in the worker; callbacks (link) applied by the worker; chain continuation from the message's chain field; tasks write Redis lists/counters the test reads",
    't/integration/test_canvas.py::test_chain::test_chain_with_cb_replaced_with_chain_with_cb':
        "Task.replace() executed in the worker; callbacks (link) applied by the worker; chain continuation from the message's chain field; tasks write Redis lists/counters the test reads",
    't/integration/test_canvas.py::test_chain::test_chain_flattening_keep_links_of_inner_chain':
        "errbacks (link_error) applied by the worker; chain continuation from the message's chain field; tasks write Redis lists/counters the test reads",
    't/integration/test_canvas.py::test_chain::test_chain_with_eb_replaced_with_chain_with_eb':
        "Task.replace() executed in the worker; errbacks (link_error) applied by the worker; chain continuation from the message's chain field; tasks write Redis lists/counters the test reads",
    't/integration/test_canvas.py::test_chain::test_replace_chain_with_empty_chain':
        "Task.replace() executed in the worker; chain continuation from the message's chain field",
    't/integration/test_canvas.py::test_chain::test_chain_children_with_callbacks':
        "callbacks (link) applied by the worker; chain continuation from the message's chain field; tasks write Redis lists/counters the test reads",
    't/integration/test_canvas.py::test_chain::test_chain_children_with_errbacks':
        "errbacks (link_error) applied by the worker; chain continuation from the message's chain field; tasks write Redis lists/counters the test reads",
    't/integration/test_canvas.py::test_chain::test_chain_with_callback_child_replaced':
        "Task.replace() executed in the worker; callbacks (link) applied by the worker; chain continuation from the message's chain field; tasks write Redis lists/counters the test reads",
    't/integration/test_canvas.py::test_chain::test_chain_with_errback_child_replaced':
        "Task.replace() executed in the worker; errbacks (link_error) applied by the worker; chain continuation from the message's chain field; tasks write Redis lists/counters the test reads",
    't/integration/test_canvas.py::test_chain::test_chain_child_with_callback_replaced':
        "Task.replace() executed in the worker; callbacks (link) applied by the worker; chain continuation from the message's chain field; tasks write Redis lists/counters the test reads",
    't/integration/test_canvas.py::test_chain::test_chain_child_with_errback_replaced':
        "Task.replace() executed in the worker; errbacks (link_error) applied by the worker; chain continuation from the message's chain field; tasks write Redis lists/counters the test reads",
    't/integration/test_canvas.py::test_chain::test_task_with_callback_replaced_with_chain':
        "Task.replace() executed in the worker; callbacks (link) applied by the worker; chain continuation from the message's chain field; tasks write Redis lists/counters the test reads",
    't/integration/test_canvas.py::test_chain::test_task_replaced_with_chain':
        "Task.replace() executed in the worker; chain continuation from the message's chain field",
    't/integration/test_canvas.py::test_chain::test_chain_child_replaced_with_chain_first':
        "Task.replace() executed in the worker; chain continuation from the message's chain field",
    't/integration/test_canvas.py::test_chain::test_chain_child_replaced_with_chain_middle':
        "Task.replace() executed in the worker; chain continuation from the message's chain field",
    't/integration/test_canvas.py::test_chain::test_chain_child_replaced_with_chain_last':
        "Task.replace() executed in the worker; chain continuation from the message's chain field",
    't/integration/test_canvas.py::test_chain::test_chaining_upgraded_chords_pure_groups':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads",
    't/integration/test_canvas.py::test_chain::test_chaining_upgraded_chords_starting_with_chord':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads",
    't/integration/test_canvas.py::test_chain::test_chaining_upgraded_chords_mixed_canvas':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads",
    't/integration/test_canvas.py::test_chain::test_chaining_upgraded_chords_mixed_canvas_protocol_2':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads",
    't/integration/test_canvas.py::test_chain::test_group_in_center_of_chain':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chain::test_upgrade_to_chord_inside_chains':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads",
    't/integration/test_canvas.py::test_chain::test_chain_of_group_followed_by_empty_groups':
        "chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chain::test_chain_skips_empty_groups_before_chord_body':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chain::test_chain_forwards_args_past_leading_empty_steps':
        "chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chain::test_chain_of_two_groups_as_tuple_holds_each_task_once':
        "chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chain::test_chord_with_chain_body_with_task_id':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_group::test_ready_with_exception':
        'group members (group_id/group_index) joined client-side',
    't/integration/test_canvas.py::test_group::test_empty_group_result':
        'group members (group_id/group_index) joined client-side',
    't/integration/test_canvas.py::test_group::test_group_lone':
        'group members (group_id/group_index) joined client-side',
    't/integration/test_canvas.py::test_group::test_nested_group_group':
        'group members (group_id/group_index) joined client-side',
    't/integration/test_canvas.py::test_group::test_nested_group_chord_counting_simple':
        'Redis-backend chord counting + body dispatch by the worker; group members (group_id/group_index) joined client-side',
    't/integration/test_canvas.py::test_group::test_nested_group_chord_counting_chain':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_group::test_nested_group_chord_counting_group':
        'Redis-backend chord counting + body dispatch by the worker; group members (group_id/group_index) joined client-side',
    't/integration/test_canvas.py::test_group::test_nested_group_chord_counting_chord':
        'Redis-backend chord counting + body dispatch by the worker; group members (group_id/group_index) joined client-side',
    't/integration/test_canvas.py::test_group::test_nested_group_chord_counting_mixed':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_group::test_nested_group_chord_body_chain':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_group::test_group_ending_a_chain_in_a_group_gets_its_own_id':
        "chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_group::test_callback_called_by_group':
        'callbacks (link) applied by the worker; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_group::test_errback_called_by_group_fail_first':
        'errbacks (link_error) applied by the worker; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_group::test_errback_called_by_group_fail_last':
        'errbacks (link_error) applied by the worker; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_group::test_mutable_errback_called_by_group':
        'errbacks (link_error) applied by the worker; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_group::test_errback_called_by_group_fail_multiple':
        'errbacks (link_error) applied by the worker; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_group::test_group_children_with_callbacks':
        'callbacks (link) applied by the worker; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_group::test_group_children_with_errbacks':
        'errbacks (link_error) applied by the worker; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_group::test_group_with_callback_child_replaced':
        'Task.replace() executed in the worker; callbacks (link) applied by the worker; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_group::test_group_with_errback_child_replaced':
        'Task.replace() executed in the worker; errbacks (link_error) applied by the worker; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_group::test_group_child_with_callback_replaced':
        'Task.replace() executed in the worker; callbacks (link) applied by the worker; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_group::test_group_child_with_errback_replaced':
        'Task.replace() executed in the worker; errbacks (link_error) applied by the worker; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_group::test_group_child_with_callback_replaced_with_chain':
        "Task.replace() executed in the worker; callbacks (link) applied by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads",
    't/integration/test_canvas.py::test_group::test_group_child_replaced_with_chain_first':
        'Task.replace() executed in the worker; group members (group_id/group_index) joined client-side',
    't/integration/test_canvas.py::test_group::test_group_child_replaced_with_chain_middle':
        'Task.replace() executed in the worker; group members (group_id/group_index) joined client-side',
    't/integration/test_canvas.py::test_group::test_group_child_replaced_with_chain_last':
        'Task.replace() executed in the worker; group members (group_id/group_index) joined client-side',
    't/integration/test_canvas.py::test_group::test_task_replace_with_group_preserves_group_order':
        'Task.replace() executed in the worker; group members (group_id/group_index) joined client-side',
    't/integration/test_canvas.py::test_group::test_group_with_empty_chain_members':
        "chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chord::test_simple_chord_with_a_delay_in_group_save':
        'simple chord; the monkeypatched _apply_chord_incr is unused by the Redis backend, so only the chord result is judged',
    't/integration/test_canvas.py::test_chord::test_chord_order':
        'Redis-backend chord counting + body dispatch by the worker',
    't/integration/test_canvas.py::test_chord::test_reapplying_frozen_chord_dispatches_body_again':
        'Redis-backend chord counting + body dispatch by the worker; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_chord::test_group_or_task_countdown_delays_header':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chord::test_replaced_nested_chord':
        "Task.replace() executed in the worker; Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field",
    't/integration/test_canvas.py::test_chord::test_add_to_chord':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chord::test_add_chord_to_chord':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chord::test_group_chain':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chord::test_group_kwargs':
        'Redis-backend chord counting + body dispatch by the worker; group members (group_id/group_index) joined client-side',
    't/integration/test_canvas.py::test_chord::test_group_args_and_kwargs':
        'Redis-backend chord counting + body dispatch by the worker; group members (group_id/group_index) joined client-side',
    't/integration/test_canvas.py::test_chord::test_nested_group_chain':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chord::test_single_task_header':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chord::test_empty_header_chord':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chord::test_nested_chord':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chord::test_parent_ids':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chord::test_parent_ids__plain_task_body':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chord::test_parent_ids__OR':
        'Redis-backend chord counting + body dispatch by the worker; group members (group_id/group_index) joined client-side',
    't/integration/test_canvas.py::test_chord::test_chord_on_error':
        "Redis-backend chord error handling; test reads the chord's '.j' sorted set written by the worker",
    't/integration/test_canvas.py::test_chord::test_generator':
        'Redis-backend chord whose header tasks append to a temp file (worker must run on this machine)',
    't/integration/test_canvas.py::test_chord::test_parallel_chords':
        'Redis-backend chord counting + body dispatch by the worker; group members (group_id/group_index) joined client-side',
    't/integration/test_canvas.py::test_chord::test_chord_in_chords_with_chains':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chord::test_chain_chord_chain_chord':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field",
    't/integration/test_canvas.py::test_chord::test_chord_in_chain_with_args':
        'chord in a chain run by the worker (second half re-runs it eagerly in the test process)',
    't/integration/test_canvas.py::test_chord::test_chain_in_chain_with_args':
        'nested chain run by the worker (second half re-runs it eagerly in the test process)',
    't/integration/test_canvas.py::test_chord::test_large_header':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chord::test_chain_to_a_chord_with_large_header':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chord::test_priority':
        "worker exposes delivery_info['priority'] to return_priority",
    't/integration/test_canvas.py::test_chord::test_priority_chain':
        "worker exposes delivery_info['priority'] to return_priority; chain continuation",
    't/integration/test_canvas.py::test_chord::test_nested_chord_group':
        'Redis-backend chord counting + body dispatch by the worker; group members (group_id/group_index) joined client-side',
    't/integration/test_canvas.py::test_chord::test_nested_chord_group_chain_group_tail':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chord::test_group_body_does_not_take_the_header_id':
        'Redis-backend chord counting + body dispatch by the worker; group members (group_id/group_index) joined client-side',
    't/integration/test_canvas.py::test_chord::test_error_propagates_from_chord2':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chord::test_error_propagates_to_chord_from_simple':
        'Redis-backend chord counting + body dispatch by the worker',
    't/integration/test_canvas.py::test_chord::test_immutable_errback_called_by_chord_from_simple':
        'Redis-backend chord counting + body dispatch by the worker; errbacks (link_error) applied by the worker; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_chord::test_mutable_errback_called_by_chord_from_simple':
        'Redis-backend chord counting + body dispatch by the worker; errbacks (link_error) applied by the worker; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_chord::test_error_propagates_to_chord_from_chain':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field",
    't/integration/test_canvas.py::test_chord::test_immutable_errback_called_by_chord_from_chain':
        "Redis-backend chord counting + body dispatch by the worker; errbacks (link_error) applied by the worker; chain continuation from the message's chain field; tasks write Redis lists/counters the test reads",
    't/integration/test_canvas.py::test_chord::test_mutable_errback_called_by_chord_from_chain':
        "Redis-backend chord counting + body dispatch by the worker; errbacks (link_error) applied by the worker; chain continuation from the message's chain field; tasks write Redis lists/counters the test reads",
    't/integration/test_canvas.py::test_chord::test_error_propagates_to_chord_from_chain_tail':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field",
    't/integration/test_canvas.py::test_chord::test_immutable_errback_called_by_chord_from_chain_tail':
        "Redis-backend chord counting + body dispatch by the worker; errbacks (link_error) applied by the worker; chain continuation from the message's chain field; tasks write Redis lists/counters the test reads",
    't/integration/test_canvas.py::test_chord::test_mutable_errback_called_by_chord_from_chain_tail':
        "Redis-backend chord counting + body dispatch by the worker; errbacks (link_error) applied by the worker; chain continuation from the message's chain field; tasks write Redis lists/counters the test reads",
    't/integration/test_canvas.py::test_chord::test_error_propagates_to_chord_from_group':
        'Redis-backend chord counting + body dispatch by the worker; group members (group_id/group_index) joined client-side',
    't/integration/test_canvas.py::test_chord::test_immutable_errback_called_by_chord_from_group':
        'Redis-backend chord counting + body dispatch by the worker; errbacks (link_error) applied by the worker; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_chord::test_mutable_errback_called_by_chord_from_group':
        'Redis-backend chord counting + body dispatch by the worker; errbacks (link_error) applied by the worker; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_chord::test_immutable_errback_called_by_chord_from_group_fail_multiple':
        'Redis-backend chord counting + body dispatch by the worker; errbacks (link_error) applied by the worker; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_chord::test_mutable_errback_called_by_chord_from_group_fail_multiple_on_header_failure':
        'Redis-backend chord counting + body dispatch by the worker; errbacks (link_error) applied by the worker; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_chord::test_mutable_errback_called_by_chord_from_group_fail_multiple_on_body_failure':
        'Redis-backend chord counting + body dispatch by the worker; errbacks (link_error) applied by the worker; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_chord::test_chord_header_task_replaced_with_chain':
        "Task.replace() executed in the worker; Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field",
    't/integration/test_canvas.py::test_chord::test_chord_header_child_replaced_with_chain_first':
        'Task.replace() executed in the worker; Redis-backend chord counting + body dispatch by the worker',
    't/integration/test_canvas.py::test_chord::test_chord_header_child_replaced_with_chain_middle':
        'Task.replace() executed in the worker; Redis-backend chord counting + body dispatch by the worker',
    't/integration/test_canvas.py::test_chord::test_chord_header_child_replaced_with_chain_last':
        'Task.replace() executed in the worker; Redis-backend chord counting + body dispatch by the worker',
    't/integration/test_canvas.py::test_chord::test_chord_body_task_replaced_with_chain':
        "Task.replace() executed in the worker; Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field",
    't/integration/test_canvas.py::test_chord::test_chord_body_chain_child_replaced_with_chain_first':
        "Task.replace() executed in the worker; Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field",
    't/integration/test_canvas.py::test_chord::test_chord_body_chain_child_replaced_with_chain_middle':
        "Task.replace() executed in the worker; Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field",
    't/integration/test_canvas.py::test_chord::test_chord_body_chain_child_replaced_with_chain_last':
        "Task.replace() executed in the worker; Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field",
    't/integration/test_canvas.py::test_chord::test_nested_chord_header_link_error':
        'Redis-backend chord counting + body dispatch by the worker; errbacks (link_error) applied by the worker; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_chord::test_enabling_flag_allow_error_cb_on_chord_header':
        'Redis-backend chord counting + body dispatch by the worker; errbacks (link_error) applied by the worker; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_chord::test_disabling_flag_allow_error_cb_on_chord_header':
        'Redis-backend chord counting + body dispatch by the worker; errbacks (link_error) applied by the worker; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_chord::test_flag_allow_error_cb_on_chord_header_on_upgraded_chord':
        "Redis-backend chord counting + body dispatch by the worker; errbacks (link_error) applied by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads",
    't/integration/test_canvas.py::test_chord::test_upgraded_chord_link_error_with_header_errback_enabled':
        "Redis-backend chord counting + body dispatch by the worker; errbacks (link_error) applied by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads",
    't/integration/test_canvas.py::test_chord::test_chord_error_propagation_with_different_body_types':
        'chord error propagation through chain/group/chord bodies (its caplog check for worker log lines is vacuous from outside)',
    't/integration/test_canvas.py::test_chord::test_chord_error_in_nested_chain_does_not_crash':
        'chord error in a nested chain (its caplog check for worker log lines is vacuous from outside)',
    't/integration/test_canvas.py::test_chord::test_chord_unlock_with_failed_task_in_nested_chain_member':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chord::test_chord_header_with_empty_chains':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field",
    't/integration/test_canvas.py::test_chord::test_chain_of_implicit_chords_as_body':
        "Redis-backend chord counting + body dispatch by the worker; callbacks (link) applied by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side",
    't/integration/test_canvas.py::test_chord::test_chain_of_implicit_chords_body_failure':
        "Redis-backend chord counting + body dispatch by the worker; errbacks (link_error) applied by the worker; chain continuation from the message's chain field; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads",
    't/integration/test_canvas.py::test_chord::test_link_option_runs_after_the_body':
        'Redis-backend chord counting + body dispatch by the worker; callbacks (link) applied by the worker; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_chord::test_link_option_on_chain_ending_in_chord':
        "Redis-backend chord counting + body dispatch by the worker; chain continuation from the message's chain field; tasks write Redis lists/counters the test reads",
    't/integration/test_canvas.py::test_chord::test_link_error_option_runs_on_body_failure':
        'Redis-backend chord counting + body dispatch by the worker; errbacks (link_error) applied by the worker; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_chord::test_link_option_on_group_body_runs_once':
        'Redis-backend chord counting + body dispatch by the worker; callbacks (link) applied by the worker; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_chord::test_link_error_option_runs_on_header_failure':
        'Redis-backend chord counting + body dispatch by the worker; errbacks (link_error) applied by the worker; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_chord::test_link_error_option_keeps_errbacks_of_group_body_tasks':
        'Redis-backend chord counting + body dispatch by the worker; errbacks (link_error) applied by the worker; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_chord::test_errbacks_of_group_body_tasks_run_on_header_failure':
        'Redis-backend chord counting + body dispatch by the worker; errbacks (link_error) applied by the worker; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_chord::test_errbacks_of_chord_in_group_body_run_on_header_failure':
        'Redis-backend chord counting + body dispatch by the worker; errbacks (link_error) applied by the worker; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_chord::test_errback_set_as_one_signature_runs_on_header_failure':
        'Redis-backend chord counting + body dispatch by the worker; errbacks (link_error) applied by the worker; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_chord::test_link_error_option_with_link_error_of_group_body':
        'Redis-backend chord counting + body dispatch by the worker; errbacks (link_error) applied by the worker; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_chord::test_link_error_option_runs_once_for_chord_in_group_body_with_link_error':
        'Redis-backend chord counting + body dispatch by the worker; errbacks (link_error) applied by the worker; group members (group_id/group_index) joined client-side; tasks write Redis lists/counters the test reads',
    't/integration/test_canvas.py::test_xmap_xstarmap::test_starmap_keeps_frozen_id_and_link':
        'worker runs the built-in celery.starmap task and its link',
    't/integration/test_canvas.py::test_xmap_xstarmap::test_starmap_in_a_group_and_a_chain':
        'worker runs the built-in celery.starmap task inside a group and a chain',
    't/integration/test_canvas.py::test_signature_serialization::test_rebuild_nested_chain_chain':
        'worker runs rebuild_signature, which rebuilds a nested canvas dict with Signature.from_dict',
    't/integration/test_canvas.py::test_signature_serialization::test_rebuild_nested_chain_group':
        'worker runs rebuild_signature, which rebuilds a nested canvas dict with Signature.from_dict',
    't/integration/test_canvas.py::test_signature_serialization::test_rebuild_nested_chain_chord':
        'worker runs rebuild_signature, which rebuilds a nested canvas dict with Signature.from_dict',
    't/integration/test_canvas.py::test_signature_serialization::test_rebuild_nested_group_chain':
        'worker runs rebuild_signature, which rebuilds a nested canvas dict with Signature.from_dict',
    't/integration/test_canvas.py::test_signature_serialization::test_rebuild_nested_group_group':
        'worker runs rebuild_signature, which rebuilds a nested canvas dict with Signature.from_dict',
    't/integration/test_canvas.py::test_signature_serialization::test_rebuild_nested_group_chord':
        'worker runs rebuild_signature, which rebuilds a nested canvas dict with Signature.from_dict',
    't/integration/test_canvas.py::test_signature_serialization::test_rebuild_nested_chord_chain':
        'worker runs rebuild_signature, which rebuilds a nested canvas dict with Signature.from_dict',
    't/integration/test_canvas.py::test_signature_serialization::test_rebuild_nested_chord_group':
        'worker runs rebuild_signature, which rebuilds a nested canvas dict with Signature.from_dict',
    't/integration/test_canvas.py::test_signature_serialization::test_rebuild_nested_chord_chord':
        'worker runs rebuild_signature, which rebuilds a nested canvas dict with Signature.from_dict',
    't/integration/test_canvas.py::test_stamping_mechanism::test_stamping_example_canvas':
        'stamped chain of group/chord run by the worker',
    't/integration/test_canvas.py::test_stamping_mechanism::test_stamp_value_type_defined_by_visitor':
        'stamps are set client-side; worker must accept stamp headers and run add',
    't/integration/test_canvas.py::test_stamping_mechanism::test_properties_not_affected_from_stamping':
        'stamps are set client-side; worker must accept stamp headers and run add',
    't/integration/test_canvas.py::test_stamping_mechanism::test_stamp_canvas_with_dictionary_link_error':
        'worker runs a stamped task whose link_error is a plain dict; errback applied by the worker',
}

# Judgeable only when the worker answers pidbox (remote control) broadcasts:
# run with --pidbox to include them.
NEEDS_PIDBOX = {
    't/integration/test_tasks.py::test_tasks::test_revoked':
        'revokes a queued task: needs the worker to consume the pidbox revoke broadcast',
    't/integration/test_tasks.py::test_tasks::test_revoke_keeps_state_of_task_started_elsewhere':
        'control.revoke(reply=True): needs pidbox replies from the worker',
    't/integration/test_tasks.py::test_tasks::test_revoke_by_stamped_headers_no_match':
        'control.revoke_by_stamped_headers(reply=True): needs pidbox replies from the worker',
    't/integration/test_canvas.py::test_chain::test_parent_ids':
        'calls assert_ping(manager): needs the worker to answer a pidbox `inspect ping` broadcast',
    't/integration/test_canvas.py::test_result_set::test_result_set':
        'calls assert_ping(manager): needs the worker to answer a pidbox `inspect ping` broadcast',
    't/integration/test_canvas.py::test_result_set::test_result_set_error':
        'calls assert_ping(manager): needs the worker to answer a pidbox `inspect ping` broadcast',
    't/integration/test_canvas.py::test_result_set::test_result_set_built_via_add':
        'calls assert_ping(manager): needs the worker to answer a pidbox `inspect ping` broadcast',
    't/integration/test_canvas.py::test_result_set::test_result_set_add_after_ready':
        'calls assert_ping(manager): needs the worker to answer a pidbox `inspect ping` broadcast',
    't/integration/test_canvas.py::test_result_set::test_join_exhausted_timeout':
        'calls assert_ping(manager): needs the worker to answer a pidbox `inspect ping` broadcast',
    't/integration/test_canvas.py::test_result_set::test_join_native_timeout_zero_returns_results_that_are_ready':
        'calls assert_ping(manager): needs the worker to answer a pidbox `inspect ping` broadcast',
    't/integration/test_canvas.py::test_group::test_parent_ids':
        'calls assert_ping(manager): needs the worker to answer a pidbox `inspect ping` broadcast',
    't/integration/test_canvas.py::test_group::test_generator_group_iterated_while_calling_len':
        'calls assert_ping(manager): needs the worker to answer a pidbox `inspect ping` broadcast',
    't/integration/test_canvas.py::test_group::test_nested_group':
        'calls assert_ping(manager): needs the worker to answer a pidbox `inspect ping` broadcast',
    't/integration/test_canvas.py::test_group::test_large_group':
        'calls assert_ping(manager): needs the worker to answer a pidbox `inspect ping` broadcast',
}

# Not judgeable from outside a Python worker process (or not about the
# worker at all).
NOT_JUDGEABLE = {
    't/integration/test_tasks.py::test_tasks::test_simple_call':
        'client-only: calls the task function directly in the test process',
    't/integration/test_tasks.py::test_tasks::test_multiprocess_producer':
        "skipped upstream ('Broken test')",
    't/integration/test_tasks.py::test_tasks::test_multithread_producer':
        "skipped upstream ('Broken test')",
    't/integration/test_tasks.py::test_tasks::test_task_accepted':
        "skipped upstream ('Randomly fails'); also needs pidbox inspect",
    't/integration/test_tasks.py::test_tasks::test_send_task_without_ignore_result_uses_task_ignore_result':
        'reads worker_state (celery.worker.state) of an in-process Python worker (successful_requests)',
    't/integration/test_tasks.py::test_tasks::test_send_task_without_ignore_result_stores_result':
        'reads worker_state (celery.worker.state) of an in-process Python worker (successful_requests)',
    't/integration/test_tasks.py::test_tasks::test_revoked_by_headers_simple_canvas':
        'reads worker_state (celery.worker.state) of an in-process Python worker (clears revoked_stamps between iterations); also needs pidbox revoke',
    't/integration/test_tasks.py::test_tasks::test_revoked_by_headers_complex_canvas':
        'reads worker_state (celery.worker.state) of an in-process Python worker (clears revoked_stamps); also needs pidbox revoke',
    't/integration/test_tasks.py::test_tasks::test_soft_time_limit_exceeding_time_limit':
        'client-only: apply_async raises ValueError before anything is sent',
    't/integration/test_tasks.py::test_apply_tasks::test_apply_single_task_ids':
        'eager: defines a task at test time and runs it with .apply() in the test process',
    't/integration/test_tasks.py::test_apply_tasks::test_apply_nested_parent_child_relationship':
        'eager: defines tasks at test time and runs them with .apply() in the test process',
    't/integration/test_tasks.py::test_trace_log_arguments::test_task_success':
        "reads the worker's log records through caplog (in-process worker only)",
    't/integration/test_tasks.py::test_trace_log_arguments::test_task_failed':
        "reads the worker's log records through caplog (in-process worker only)",
    't/integration/test_tasks.py::test_task_redis_result_backend::test_retry_preserves_ignore_result_false':
        'reads worker_state (celery.worker.state) of an in-process Python worker (successful_requests)',
    't/integration/test_tasks.py::test_task_redis_result_backend::test_retry_preserves_ignore_result_true':
        'reads worker_state (celery.worker.state) of an in-process Python worker (successful_requests)',
    't/integration/test_tasks.py::test_task_replacement::test_replaced_task_nesting_level_0':
        'asserts inside a task_received signal handler, which only fires in an in-process Python worker',
    't/integration/test_tasks.py::test_task_replacement::test_replaced_task_nesting_level_1':
        'asserts inside a task_received signal handler, which only fires in an in-process Python worker',
    't/integration/test_tasks.py::test_task_replacement::test_replaced_task_nesting_chain':
        'asserts inside a task_received signal handler, which only fires in an in-process Python worker',
    't/integration/test_tasks.py::test_signal_bound_method_receivers::test_each_instance_receives':
        'asserts inside a task_received signal handler, which only fires in an in-process Python worker',
    't/integration/test_tasks.py::test_signal_bound_method_receivers::test_disconnect_leaves_other_instance_connected':
        'asserts inside a task_received signal handler, which only fires in an in-process Python worker',
    't/integration/test_tasks.py::test_signal_bound_method_receivers::test_other_instance_receives_after_garbage_collection':
        'asserts inside a task_received signal handler, which only fires in an in-process Python worker',
    't/integration/test_canvas.py::test_link_error::test_link_error_eager':
        'eager: fail.apply() runs in the test process, never reaches the worker',
    't/integration/test_canvas.py::test_link_error::test_link_error':
        'eager: fail.apply() runs in the test process, never reaches the worker',
    't/integration/test_canvas.py::test_link_error::test_link_error_callback_error_callback_retries_eager':
        'eager: fail.apply() runs in the test process, never reaches the worker',
    't/integration/test_canvas.py::test_link_error::test_link_error_using_signature_eager':
        'eager: .apply() runs in the test process, never reaches the worker',
    't/integration/test_canvas.py::test_chain::test_eager_chain_inside_task':
        'eager: sets task_always_eager in the test process, never reaches the worker',
    't/integration/test_canvas.py::test_chain::test_chord_header_id_duplicated_on_rabbitmq_msg_duplication':
        'calls pytest.xfail on a redis broker (RabbitMQ-only duplication scenario)',
    't/integration/test_canvas.py::test_chain::test_freezing_chain_sets_id_of_last_task':
        'client-only: checks Signature.freeze() in the test process, sends nothing',
    't/integration/test_canvas.py::test_result_set::test_join_native_timeout_zero_gives_up_on_pending_results':
        'client-only: polls ids no task ever writes, sends nothing',
    't/integration/test_canvas.py::test_chord::test_redis_subscribed_channels_leak':
        "marked xfail upstream unconditionally ('async_results aren't performed in async way')",
    't/integration/test_canvas.py::test_chord::test_eager_chord_inside_task':
        'eager: sets task_always_eager in the test process, never reaches the worker',
    't/integration/test_canvas.py::test_chord::test_error_propagates_from_chord':
        'marked xfail upstream for redis:// backends (celery issue #6437)',
    't/integration/test_canvas.py::test_stamping_mechanism::test_stamping_workflow':
        'asserts inside a task_received signal handler, which only fires in an in-process Python worker',
    't/integration/test_canvas.py::test_stamping_mechanism::test_task_received_has_access_to_stamps':
        'asserts inside a task_received signal handler, which only fires in an in-process Python worker',
    't/integration/test_canvas.py::test_stamping_mechanism::test_all_tasks_of_canvas_are_stamped':
        'asserts inside a task_received signal handler, which only fires in an in-process Python worker (would pass vacuously)',
    't/integration/test_canvas.py::test_stamping_mechanism::test_replace_merge_stamps':
        'asserts inside a task_received signal handler, which only fires in an in-process Python worker (would pass vacuously)',
    't/integration/test_canvas.py::test_stamping_mechanism::test_linking_stamped_sig':
        'asserts inside a task_received signal handler, which only fires in an in-process Python worker',
    't/integration/test_canvas.py::test_stamping_mechanism::test_err_linking_stamped_sig':
        'asserts inside a task_received signal handler, which only fires in an in-process Python worker',
    't/integration/test_canvas.py::test_stamping_mechanism::test_stamps_remain_on_task_retry':
        'asserts inside a task_received signal handler, which only fires in an in-process Python worker (would pass vacuously)',
    't/integration/test_canvas.py::test_stamping_mechanism::test_stamp_canvas_with_dictionary_link':
        'client-only: stamps a signature in the test process, sends nothing',
}
