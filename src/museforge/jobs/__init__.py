"""Training jobs: queued in the store, run one per worker process, never inside a web request.

The server's :class:`~museforge.jobs.manager.JobManager` runs a dispatcher thread: it starts the oldest queued job
whenever fewer than ``max_running`` run, as ``python -m museforge.jobs run JOB_ID --store PATH`` (a new process
group, its output in ``$MUSEFORGE_HOME/jobs/JOB_ID.log``), and notices when a worker exits. A job moves ``queued ->
training -> completed | failed | stopped | interrupted``:

- *stopped*: the user asked (the store's flag and the model folder's ``STOP`` file); the worker saves a checkpoint
  and ends;
- *interrupted*: the server shut down (SIGTERM) or died (the worker sees its parent go) while the job trained, or
  the server restarts and finds a ``training`` job with no live worker. Interrupted and stopped jobs can be resumed:
  queued again with ``resume=True``, they continue from the model's last checkpoint;
- *failed*: the trainer raised (its message is kept) or the worker died without reporting before its model had a
  checkpoint. A worker killed from outside (the OOM killer, ``kill -9``) once its model has a checkpoint leaves the
  job *interrupted*, so it can be resumed like the CLI's ``train --resume``.

The worker (:func:`museforge.jobs.worker.run_worker`) rebuilds the :class:`~museforge.training.config.TrainConfig`
from the job, calls ``train(config, stop_event=..., on_epoch=..., on_progress=...)``, writes each epoch's record to
the store as it comes and the progress inside the epoch (steps, samples/s, time left, training or evaluating) to
``$MUSEFORGE_HOME/jobs/JOB_ID.progress.json`` (:func:`museforge.jobs.records.read_progress`).
"""
