"End-to-end checks of `imbalance-course`: most through its `main` in this process (`run`), the installed console script itself where the process matters (`cli`)."
import json, os, shutil, subprocess, sys
from pathlib import Path
import pandas as pd, pytest, torch

KEYS = {'auc', 'pr_auc', 'accuracy', 'balanced_accuracy', 'sensitivity', 'specificity', 'f1', 'spec_at_sens90'}


def run(*args, data_dir=None):
    "`imbalance-course ARGS` in this process (the console script's `main`): returncode, stdout and stderr, as `cli` gives them, without ~7 s of start-up."
    import contextlib, io, types
    from imbalance_course.cli import main
    out, err, old = io.StringIO(), io.StringIO(), os.environ.get('IMBALANCE_COURSE_DATA')
    if data_dir: os.environ['IMBALANCE_COURSE_DATA'] = str(data_dir)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try: rc = main([str(a) for a in args])
            except SystemExit as e: rc = e.code
    finally:
        if data_dir: os.environ.pop('IMBALANCE_COURSE_DATA') if old is None else os.environ.__setitem__('IMBALANCE_COURSE_DATA', old)
    return types.SimpleNamespace(returncode=rc, stdout=out.getvalue(), stderr=err.getvalue())


def cli(*args, data_dir=None, cwd=None):
    exe = shutil.which('imbalance-course')
    assert exe, 'the imbalance-course console script is not installed: pip install -e ".[dev]"'
    env = {**os.environ, **({'IMBALANCE_COURSE_DATA': str(data_dir)} if data_dir else {})}
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, env=env, cwd=cwd, timeout=900)


def test_datasets_lists_names_and_cache(data_dir):
    r = cli('datasets', data_dir=data_dir)
    assert r.returncode == 0, r.stderr
    lines = {l.split()[0]: l for l in r.stdout.splitlines()[1:]}
    assert {'pneumoniamnist', 'breastmnist', 'dermamnist', 'retinamnist', 'octmnist', 'chestxray_folder', 'synthetic', 'synthetic3'} <= set(lines)
    assert 'chestmnist' not in lines and 'ordinal' in lines['retinamnist']  # multi-label sets are left out
    assert ' 28 ' in lines['pneumoniamnist'] + ' '


def test_train_synthetic_writes_metrics_and_checkpoint(tmp_path):
    out = tmp_path/'run'
    r = run('train', '--dataset', 'synthetic', '--epochs', '1', '--seed', '0', '--out', out, '--quiet', '--device', 'cpu')
    assert r.returncode == 0, r.stderr
    m = json.loads((out/'metrics.json').read_text())
    assert KEYS <= set(m['val']) and KEYS <= set(m['test']) and 0 < m['threshold'] < 1 and m['seconds'] > 0
    assert m['at_val_sens90']['val_sensitivity'] >= 0.9 and {'test_sensitivity', 'test_specificity', 'threshold'} <= set(m['at_val_sens90'])
    assert {'torch', 'cpu', 'threads', 'device'} <= set(m['environment']) and m['environment']['device'] == 'cpu'
    cfg = json.loads((out/'config.json').read_text())
    assert cfg['recipe'] == m['recipe'] and cfg['key'] == m['key'] and cfg['recipe']['dataset'] == 'synthetic'
    assert {'best.pt', 'last.pt', 'config.json', 'metrics.json'} == {p.name for p in out.iterdir()}
    assert 'spec_at_sens90' in r.stdout and 'at 90% sensitivity on val' in r.stdout


def test_help_lists_every_field_and_registered_technique():
    from imbalance_course.recipes import Recipe, REGISTRY
    from imbalance_course.models import load_techniques
    import dataclasses
    load_techniques()  # every lesson's registrations, as the CLI loads them
    r = run('train', '--help')
    assert r.returncode == 0
    opts = {'callbacks': '--callback'}
    for f in dataclasses.fields(Recipe): assert opts.get(f.name, f'--{f.name}') in r.stdout, f.name
    for kind, reg in REGISTRY.items():
        for name, f in reg.items():  # the course's own; tests may register helpers of their own (tiny models)
            if f.__module__.startswith('imbalance_course'): assert f'{name}(' in r.stdout, (kind, name)


def test_recipe_file_round_trip(tmp_path):
    shown = run('train', '--dataset', 'synthetic', '--loss', 'bce', '--epochs', '1', '--show')
    assert shown.returncode == 0, shown.stderr
    (tmp_path/'r.json').write_text(shown.stdout)
    r = run('train', '--recipe', tmp_path/'r.json', '--seed', '3', '--out', tmp_path/'run', '--quiet')
    assert r.returncode == 0, r.stderr
    cfg = json.loads((tmp_path/'run'/'config.json').read_text())['recipe']
    assert cfg == {**json.loads(shown.stdout), 'seed': 3} and cfg['loss'] == {'name': 'bce'}


def test_compare_reuses_and_resumes_runs(tmp_path):
    "compare on synthetic data: runs.csv/summary.csv; a second call trains nothing; an interrupted run resumes."
    from imbalance_course.recipes import Recipe
    from imbalance_course.store import run_dir, run_recipe
    from imbalance_course.train import Callback
    store, args = tmp_path/'store', ('--datasets', 'synthetic', '--epochs', '2', '--quiet')
    r = run('compare', '--recipes', 'baseline', 'bce', '--seeds', '0', *args, '--store', store, '--out', tmp_path/'res')
    assert r.returncode == 0, r.stderr
    runs, summary = pd.read_csv(tmp_path/'res'/'runs.csv'), pd.read_csv(tmp_path/'res'/'summary.csv')
    assert list(runs.recipe) == ['baseline', 'bce'] and set(summary.recipe) == {'baseline', 'bce'}
    assert {'n_seeds', 'test_auc_mean', 'test_auc_lo', 'test_auc_hi', 'at_val_sens90_test_specificity_mean'} <= set(summary.columns)
    stamps = {p: p.stat().st_mtime_ns for p in store.glob('*/metrics.json')}
    again = run('compare', '--recipes', 'baseline', 'bce', '--seeds', '0', *args, '--store', store, '--out', tmp_path/'res2')
    assert again.returncode == 0 and stamps == {p: p.stat().st_mtime_ns for p in store.glob('*/metrics.json')}
    assert pd.read_csv(tmp_path/'res2'/'runs.csv').equals(runs)
    # seed 1 of the baseline is interrupted after its first epoch, then compare finishes it from the checkpoint
    class Crash(Callback):
        def after_epoch(self, t): t.save(); raise KeyboardInterrupt
    rec = Recipe(dataset='synthetic', epochs=2, seed=1)
    with pytest.raises(KeyboardInterrupt): run_recipe(rec, run_dir(rec, store), progress=False, cbs=[Crash()])
    first_epoch = torch.load(run_dir(rec, store)/'last.pt', weights_only=True)['history'][0]
    r = run('compare', '--recipes', 'baseline', '--seeds', '1', *args, '--store', store, '--out', tmp_path/'res3')
    assert r.returncode == 0, r.stderr
    hist = json.loads((run_dir(rec, store)/'metrics.json').read_text())['history']
    assert len(hist) == 2 and hist[0] == first_epoch  # epoch 1 came from the checkpoint, not from a new training
    fresh = run('compare', '--recipes', 'baseline', '--seeds', '1', *args, '--store', tmp_path/'fresh', '--out', tmp_path/'res4')
    assert fresh.returncode == 0
    cols = [c for c in runs.columns if c.startswith(('val_', 'test_'))]
    assert pd.read_csv(tmp_path/'res3'/'runs.csv')[cols].equals(pd.read_csv(tmp_path/'res4'/'runs.csv')[cols])  # same as uninterrupted


def test_bad_dataset_one_line_error_and_nothing_written(tmp_path):
    r = run('train', '--dataset', 'pneumonia', '--out', tmp_path/'run')
    assert r.returncode == 2 and 'Traceback' not in r.stderr
    assert "dataset 'pneumonia' is unknown; choose one of:" in r.stderr
    assert not (tmp_path/'run').exists()


def test_missing_data_offline_error(tmp_path):
    r = run('--data-dir', tmp_path/'empty', 'train', '--dataset', 'breastmnist', '--no-download', '--out', tmp_path/'run')
    assert r.returncode == 2 and 'breastmnist.npz' in r.stderr and 'IMBALANCE_COURSE_DATA' in r.stderr, r.stderr
    assert 'https://' in r.stderr and str(tmp_path/'empty') in r.stderr
    assert not (tmp_path/'run').exists() and not list((tmp_path/'empty').glob('*.npz'))


def test_other_config_in_same_out_is_refused(tmp_path):
    out = tmp_path/'run'
    assert run('train', '--dataset', 'synthetic', '--epochs', '1', '--out', out, '--quiet').returncode == 0
    r = run('train', '--dataset', 'synthetic', '--epochs', '1', '--seed', '1', '--out', out, '--quiet')
    assert r.returncode == 2 and 'seed: 0 vs 1' in r.stderr and '--no-resume' in r.stderr


def test_baseline_quality(tmp_path, data_dir):
    """The main job: 10 epochs of ResNet18 on the real PneumoniaMNIST. Asserts what holds on any machine: far better
    than chance (test AUC of seeds 0-2 ranged 0.933-0.963 across machines and torch builds), not one seed's value."""
    out = tmp_path/'baseline'
    r = cli('train', '--dataset', 'pneumoniamnist', '--epochs', '10', '--seed', '0', '--out', out, '--quiet', data_dir=data_dir)
    assert r.returncode == 0, r.stderr
    m = json.loads((out/'metrics.json').read_text())
    print(f"baseline: test AUC {m['test']['auc']:.4f}, spec {m['test']['specificity']:.3f}, sens {m['test']['sensitivity']:.3f}, {m['seconds']} s")
    assert m['test']['auc'] >= 0.90 and m['test']['balanced_accuracy'] >= 0.75
    assert m['test']['specificity'] < m['test']['sensitivity']  # at the validation threshold, test's normals are the weak spot


def test_bad_numbers_name_the_option(tmp_path, capsys):
    from imbalance_course.cli import main
    for opt, value, msg in [('--epochs', '0', 'epochs=0 must be at least 1'), ('--epochs', '-1', 'epochs=-1'), ('--bs', '0', 'bs=0'),
                            ('--lr', '-1', 'lr=-1.0 must be a positive number'), ('--seed', '-1', 'seed=-1'),
                            ('--imbalance', '0.5', 'imbalance=0.5'), ('--ckpt-every', '-5', 'ckpt_every=-5.0 must be >= 0')]:
        assert main(['train', '--dataset', 'synthetic', opt, value, '--out', str(tmp_path/'run')]) == 2, opt
        err = capsys.readouterr().err
        assert msg in err and 'Traceback' not in err, (opt, err)
        assert not (tmp_path/'run').exists()


def test_failed_start_does_not_block_the_corrected_command(tmp_path):
    out = tmp_path/'run'
    r = run('train', '--dataset', 'synthetic', '--bs', '5000', '--epochs', '1', '--out', out, '--quiet')
    assert r.returncode == 2 and 'lower bs' in r.stderr
    r = run('train', '--dataset', 'synthetic', '--epochs', '1', '--out', out, '--quiet')
    assert r.returncode == 0, r.stderr


def test_out_is_a_file(tmp_path):
    (tmp_path/'f').write_text('x')
    r = run('train', '--dataset', 'synthetic', '--out', tmp_path/'f')
    assert r.returncode == 2 and 'is a file; a run needs a folder' in r.stderr and 'Traceback' not in r.stderr


def test_ctrl_c_says_how_to_resume_and_rerun_keeps_training_time(tmp_path):
    import signal, time
    out, exe = tmp_path/'run', shutil.which('imbalance-course')
    args = [exe, 'train', '--dataset', 'synthetic', '--epochs', '5', '--ckpt-every', '0', '--out', str(out), '--quiet']
    env = dict(os.environ)
    # a learner's Ctrl-C: SIGINT at its default in the child, even where this test runs as a background job (which ignores SIGINT)
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    t0 = time.time()
    while not (out/'last.pt').exists() and time.time() - t0 < 300: time.sleep(0.2)
    p.send_signal(signal.SIGINT); _, err = p.communicate(timeout=120)
    assert p.returncode == 130 and 'run the same command again to resume' in err and 'Traceback' not in err, err
    first = torch.load(out/'last.pt', weights_only=True)['history'][0]
    assert subprocess.run(args, capture_output=True, env=env).returncode == 0
    m = json.loads((out/'metrics.json').read_text())
    assert len(m['history']) == 5 and m['history'][0] == first  # resumed, not restarted
    assert m['seconds'] == round(sum(h['seconds'] for h in m['history']), 1)
    again = subprocess.run(args, capture_output=True, env=env)  # complete: evaluates again, keeps the training time
    m2 = json.loads((out/'metrics.json').read_text())
    assert again.returncode == 0 and m2['seconds'] == m['seconds'] and m2['test'] == m['test']


def test_data_dir_after_the_subcommand(tmp_path):
    r = run('train', '--dataset', 'breastmnist', '--no-download', '--data-dir', tmp_path/'empty', '--out', tmp_path/'run')
    assert r.returncode == 2 and str(tmp_path/'empty') in r.stderr and 'breastmnist.npz' in r.stderr


def test_written_files_follow_the_umask(tmp_path):
    r = run('train', '--dataset', 'synthetic', '--epochs', '1', '--out', tmp_path/'run', '--quiet')
    assert r.returncode == 0
    mask = os.umask(0); os.umask(mask)
    for f in ('metrics.json', 'config.json', 'last.pt', 'best.pt'):
        assert (tmp_path/'run'/f).stat().st_mode & 0o777 == 0o666 & ~mask, f


def test_compare_problems_list_plan_and_budget(tmp_path, capsys):
    "compare --list names every recipe and problem; --plan estimates without training; a grid over --budget is refused, nothing trained."
    from imbalance_course.cli import main
    assert main(['compare', '--list']) == 0
    out = capsys.readouterr().out
    assert {'baseline:', 'over_focal:', 'resnet22_cbam_auc:', 'sam_ema_focal:'} <= {l.split()[0] for l in out.splitlines() if l.strip()}
    assert out.startswith('problems (--problems):\n  pneumonia: PneumoniaMNIST\n  pneumonia_1to10: pneumonia 1:10\n  breast: BreastMNIST')
    assert '  baseline: (nothing: the control)' in out and '  finetune_ce: epochs=5 lr=0.0002 init=baseline\n' in out  # a start run by name, no Python dict
    assert 'None' not in out
    store, grid = str(tmp_path/'store'), ['compare', '--recipes', 'baseline', 'focal', '--problems', 'synthetic', '--seeds', '0', '1', '2']
    assert main([*grid, '--store', store, '--plan']) == 0
    out = capsys.readouterr().out
    assert '6 of 6 runs to train' in out and 'nothing measured on these data: 9 s per epoch' in out
    assert '6 of them guessed at 9 s per epoch' in out and "store's measured times" not in out and 'None' not in out
    assert main([*grid, '--store', store, '--budget', '1', '--out', str(tmp_path/'res'), '--quiet']) == 2
    err = capsys.readouterr().err
    assert 'about 9 min here' in err and 'more than the budget of 1 min' in err and '--yes' in err, err
    assert not (tmp_path/'store').exists() and not (tmp_path/'res').exists()  # refused before anything was written
    assert main(['compare', '--recipes', 'focall', '--store', store]) == 2
    assert "recipe 'focall' is unknown; choose one of: baseline" in capsys.readouterr().err
    assert main(['compare', '--problems', 'pneumonia10', '--store', store]) == 2
    assert "problem 'pneumonia10' is unknown; choose one of: pneumonia, pneumonia_1to10, breast" in capsys.readouterr().err
    assert main(['compare', '--problems', 'breast', '--datasets', 'breastmnist', '--store', store]) == 2
    assert 'not both' in capsys.readouterr().err


def test_closed_pipe_is_not_an_error():
    "`imbalance-course compare --list | head -1`: the reader leaves early; the command exits 0 and prints no error."
    import shutil
    exe = shutil.which('imbalance-course') or pytest.skip('the console script is not installed')
    r = subprocess.run(f'"{exe}" compare --list | head -1; exit ${{PIPESTATUS[0]}}', shell=True, executable='/bin/bash',
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.startswith('problems (--problems):') and 'Broken pipe' not in r.stderr, r.stderr


def test_recipe_flags_take_hyphens_and_the_old_underscores():
    from imbalance_course.cli import build_parser, recipe_from_args
    p = build_parser()
    a = recipe_from_args(p.parse_args(['train', '--imbalance', '10', '--imbalance-cls', '1']))
    b = recipe_from_args(p.parse_args(['train', '--imbalance', '10', '--imbalance_cls', '1']))
    assert a == b and a.imbalance_cls == 1
    assert '--imbalance-cls' in p._subparsers._group_actions[0].choices['train'].format_help()
