"Grids in parallel on one store: a run's lock (two processes never train it twice, a killed worker's run resumes), and `compare(workers=2)` equal to a sequential grid run for run."
import os, signal, subprocess, sys, textwrap, time
from pathlib import Path
import pandas as pd, pytest, torch
import imbalance_course.comparison as rc, imbalance_course.store as st
from imbalance_course.recipes import Recipe
from imbalance_course.comparison import compare
from imbalance_course.store import get_run, run_dir, run_lock

TINY = Recipe(name='tiny', dataset='synthetic', size=16, epochs=1, bs=64)  # 16 px: seconds per run


def _python(code, *args):
    "Start `code` in a fresh Python process (this repository's package), its argv after the code."
    return subprocess.Popen([sys.executable, '-c', textwrap.dedent(code), *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path, proc, timeout=120):
    t0 = time.time()
    while not Path(path).exists():
        assert proc.poll() is None, proc.communicate()
        assert time.time() - t0 < timeout, f'{path} never appeared'
        time.sleep(0.1)


def test_a_locked_run_is_waited_for_and_read_not_trained_again(tmp_path, monkeypatch):
    store, flag = tmp_path/'store', tmp_path/'locked'
    out = run_dir(TINY, store)
    p = _python('''
        import sys; from pathlib import Path
        from imbalance_course.recipes import Recipe
        from imbalance_course.store import run_dir, run_lock, run_recipe
        r = Recipe(name='tiny', dataset='synthetic', size=16, epochs=1, bs=64); out = run_dir(r, sys.argv[1])
        with run_lock(out):
            Path(sys.argv[2]).touch()
            run_recipe(r, out, progress=False, store=sys.argv[1])
        ''', store, flag)
    _wait_for(flag, p)
    with run_lock(out, wait=False) as held: assert not held  # the other process holds it
    assert get_run(TINY, store, wait=False, progress=False) is None
    monkeypatch.setattr(st, 'run_recipe', lambda *a, **k: pytest.fail('trained a run another process was training'))
    res = get_run(TINY, store, progress=False)  # waits for the lock, then reads
    assert p.wait(timeout=300) == 0, p.communicate()
    assert res['trained_by'].endswith(f':{p.pid}') and len(res['history']) == 1


def test_a_killed_workers_run_resumes(tmp_path):
    store = tmp_path/'store'
    r = TINY.replace(epochs=4)
    out = run_dir(r, store)
    p = _python('''
        import sys
        from imbalance_course.recipes import Recipe
        from imbalance_course.store import get_run
        get_run(Recipe(name='tiny', dataset='synthetic', size=16, epochs=4, bs=64), sys.argv[1], progress=False, ckpt_every=0)
        ''', store)
    _wait_for(out/'last.pt', p)
    os.kill(p.pid, signal.SIGKILL); p.wait()
    assert not (out/'metrics.json').exists()
    t0 = time.time()
    res = get_run(r, store, progress=False)  # the dead process's lock is gone with it: no waiting
    assert len(res['history']) == 4 and res['trained_by'].endswith(f':{os.getpid()}')
    assert res['history'][0]['seconds'] > 0 and time.time() - t0 < 120


def test_workers_equal_a_sequential_grid_run_for_run(tmp_path, monkeypatch):
    grid = dict(recipes=[TINY, TINY.replace(name='tiny_focal', loss={'name': 'focal', 'gamma': 2.0, 'alpha': None})], seeds=[0], progress=False, out=None)
    old = torch.get_num_threads(); torch.set_num_threads(1)  # the workers below run one thread each: the same arithmetic
    try: seq, _ = compare(store=tmp_path/'seq', **grid)
    finally: torch.set_num_threads(old)
    monkeypatch.setattr(os, 'cpu_count', lambda: 2)  # 2 workers x 1 thread, whatever this machine has
    par, _ = compare(store=tmp_path/'new'/'par', workers=2, **grid)  # a store whose folder does not exist yet
    cols = ['recipe', 'seed', 'key', 'best_epoch', 'test_auc', 'test_balanced_accuracy', 'val_auc', 'threshold']
    pd.testing.assert_frame_equal(seq[cols], par[cols])
    pids = {get_run(r, tmp_path/'new'/'par')['trained_by'] for r in rc.grid_of(grid['recipes'], seeds=[0])}
    assert pids and not any(p.endswith(f':{os.getpid()}') for p in pids)  # worker processes trained them, not this one


def test_a_local_ray_cluster_equals_a_sequential_grid_run_for_run(tmp_path):
    pytest.importorskip('ray', reason="Ray is the optional extra for grids across machines: pip install -e '.[cluster]'")
    grid = dict(recipes=[TINY, TINY.replace(name='tiny_focal', loss={'name': 'focal', 'gamma': 2.0, 'alpha': None})], seeds=[0], progress=False, out=None)
    old = torch.get_num_threads(); torch.set_num_threads(1)  # each Ray task below asks for one CPU: one thread, the same arithmetic
    try: seq, _ = compare(store=tmp_path/'seq', **grid)
    finally: torch.set_num_threads(old)
    ray_runs, _ = compare(store=tmp_path/'ray', ray='local', ray_cpus=1, **grid)
    cols = ['recipe', 'seed', 'key', 'best_epoch', 'test_auc', 'test_balanced_accuracy', 'val_auc', 'threshold']
    pd.testing.assert_frame_equal(seq[cols], ray_runs[cols])
    pids = {get_run(r, tmp_path/'ray')['trained_by'] for r in rc.grid_of(grid['recipes'], seeds=[0])}
    assert len(pids) == 2 and not any(p.endswith(f':{os.getpid()}') for p in pids)  # Ray workers trained them, not this process
    assert rc.train_ray(rc.grid_of(grid['recipes'], seeds=[0]), tmp_path/'ray', 'local') == []  # nothing missing: no cluster started


def test_ray_refuses_bad_resources_before_starting_anything(tmp_path):
    pytest.importorskip('ray', reason="Ray is the optional extra for grids across machines: pip install -e '.[cluster]'")
    with pytest.raises(ValueError, match='ray cpus=0 must be > 0'):
        rc.train_ray(rc.grid_of([TINY], seeds=[0]), tmp_path/'s', 'local', cpus=0)
