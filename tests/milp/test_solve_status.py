"""HiGHS runs keep working when the thread count changes within one process."""


def test_changing_thread_count_between_solves_still_solves():
    """HiGHS's global thread pool is rebuilt when ``threads`` changes (it used to refuse the
    second run and the result came back as ``no_solution``)."""
    from hetserve.instances import read_instance
    from hetserve.instances.result import Status
    from hetserve.milp import MilpParams, solve

    inst = read_instance("tiny")
    for threads in (2, 1, 2):
        assert solve(inst, MilpParams(threads=threads)).status is Status.OPTIMAL
