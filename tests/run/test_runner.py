"""Tests of twigma.run.runner: run one notebook with papermill so that make can rely on it."""
from __future__ import annotations


def test_kernels_are_shut_down_without_an_interrupt(tmp_path):
    """jupyter_client sends SIGINT before every shutdown (jupyter_client.manager.KernelManager.shutdown_kernel);
    an idle kernel then prints "KeyboardInterrupt caught in kernel" into make's output. Ours does not send it,
    and still interrupts a running cell when asked (cell timeouts)."""
    import asyncio
    import signal

    from twigma.run.runner import _kernel_manager_class

    async def scenario():
        km = _kernel_manager_class(str(tmp_path))(kernel_name="python3")
        sent = []
        original = km._async_signal_kernel

        async def record(signum):
            sent.append(signum)
            await original(signum)

        km._async_signal_kernel = record
        await km.start_kernel()
        await km.interrupt_kernel()  # an interrupt asked for on purpose goes through
        await km.shutdown_kernel()
        return sent

    sent = asyncio.run(scenario())
    assert sent.count(signal.SIGINT) == 1
