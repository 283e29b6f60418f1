"Bad input: each case gives one clear error naming the problem and the way out, and leaves nothing half-written."
import ast, shutil
from pathlib import Path
import numpy as np, pytest, torch
import imbalance_course.data as icd
from imbalance_course.data import Split, fetch_medmnist, file_md5, load_dataset, make_synthetic
from imbalance_course.models import create_model
from imbalance_course.train import NaNLossError, fit
from conftest import REPO


def _npz(path, **arrs):
    np.savez(path, **arrs); return path


def _good_arrays(n=6, size=8):
    y = np.array([[i % 2] for i in range(n)], np.uint8)
    return {f'{s}_{k}': v for s in ('train', 'val', 'test') for k, v in (('images', np.zeros((n, size, size), np.uint8)), ('labels', y))}


def test_unknown_dataset():
    with pytest.raises(ValueError, match="dataset 'pneumonia' is unknown; choose one of: pneumoniamnist, breastmnist"):
        load_dataset('pneumonia')


def test_missing_file_offline(tmp_path):
    with pytest.raises(FileNotFoundError) as e: load_dataset('breastmnist', data_dir=tmp_path, download=False)
    msg = str(e.value)
    assert 'breastmnist.npz' in msg and str(tmp_path) in msg and 'https://' in msg and 'IMBALANCE_COURSE_DATA' in msg
    assert list(tmp_path.iterdir()) == []


def test_download_failure_leaves_nothing(tmp_path):
    with pytest.raises(FileNotFoundError, match='downloading it failed'):
        fetch_medmnist('dermamnist', data_dir=tmp_path, url=(tmp_path/'missing.npz').as_uri())
    assert list(tmp_path.iterdir()) == []


def test_download_checks_md5_and_loads(tmp_path, monkeypatch, data_dir):
    "The download path, on a local file: right checksum -> file in place and loadable; wrong -> error, nothing kept."
    src = data_dir/'pneumoniamnist.npz'
    monkeypatch.setattr(icd, 'medmnist_source', lambda name, size=28: ('pneumoniamnist.npz', src.as_uri(), file_md5(src)))
    got = fetch_medmnist('pneumoniamnist', data_dir=tmp_path/'ok')
    assert got == tmp_path/'ok'/'pneumoniamnist.npz' and file_md5(got) == file_md5(src)
    assert len(load_dataset('pneumoniamnist', data_dir=tmp_path/'ok').train) == 4708
    monkeypatch.setattr(icd, 'medmnist_source', lambda name, size=28: ('pneumoniamnist.npz', src.as_uri(), '0' * 32))
    with pytest.raises(ValueError, match='checksum mismatch'): fetch_medmnist('pneumoniamnist', data_dir=tmp_path/'bad')
    assert list((tmp_path/'bad').iterdir()) == []


def test_present_file_with_unofficial_md5_loads_without_network(data_dir, monkeypatch):
    def no_network(*a, **k): raise AssertionError('network access attempted')
    monkeypatch.setattr(icd.urllib.request, 'urlopen', no_network)
    data = load_dataset('pneumoniamnist', data_dir=data_dir)
    assert data.train.x.shape == (4708, 1, 28, 28) and data.classes[data.pos_class] == 'pneumonia'


def test_truncated_npz(tmp_path, data_dir):
    bad = tmp_path/'pneumoniamnist.npz'
    bad.write_bytes((data_dir/'pneumoniamnist.npz').read_bytes()[:50_000])
    with pytest.raises(ValueError, match='corrupt, truncated .* Delete it and load again'):
        load_dataset('pneumoniamnist', data_dir=tmp_path)


def test_not_a_zip(tmp_path):
    (tmp_path/'breastmnist.npz').write_text('<html>rate limited</html>')
    with pytest.raises(ValueError, match='corrupt, truncated'): load_dataset('breastmnist', data_dir=tmp_path)


def test_wrong_keys(tmp_path):
    _npz(tmp_path/'pneumoniamnist.npz', x=np.zeros((3, 8, 8)), y=np.zeros(3))
    with pytest.raises(ValueError, match=r"has keys \['x', 'y'\], but needs train_images and train_labels"):
        load_dataset('pneumoniamnist', data_dir=tmp_path)


@pytest.mark.parametrize('key,value,msg', [
    ('train_images', np.zeros((6, 8)), 'expected N×H×W'),
    ('val_labels', np.zeros((5, 1)), 'one label per image'),
    ('test_labels', np.array([[0], [1], [2], [0], [1], [0]]), r'outside 0\.\.1 for 2 classes'),
    ('train_labels', np.array([[0], [1], [-1], [0], [1], [0]]), r'labels from -1 to 1, outside 0\.\.1'),
])
def test_wrong_shapes_and_labels(tmp_path, key, value, msg):
    _npz(tmp_path/'pneumoniamnist.npz', **{**_good_arrays(), key: value})
    with pytest.raises(ValueError, match=msg): load_dataset('pneumoniamnist', data_dir=tmp_path)


def test_pickled_npz_refused(tmp_path):
    arrs = _good_arrays(); arrs['train_labels'] = np.array([[0], [1], [0], [1], [0], {'evil': 1}], dtype=object)
    _npz(tmp_path/'pneumoniamnist.npz', **arrs)
    with pytest.raises(ValueError, match='not a plain-array .npz'): load_dataset('pneumoniamnist', data_dir=tmp_path)


def test_single_class_training_split():
    s = make_synthetic(200, seed=0); s = s[s.y == 0]
    with pytest.raises(ValueError, match='single class .* needs at least two'): fit(create_model(), s, epochs=1, bs=32, progress=False)


def test_labels_beyond_model_outputs():
    s = make_synthetic(200, seed=0)
    with pytest.raises(ValueError, match=r'create_model\(n_cls=3\)'):
        fit(create_model(n_cls=2), Split(s.x, s.y * 2), epochs=1, bs=32, progress=False)


def test_nan_loss_keeps_last_good_checkpoint(tmp_path):
    s, calls = make_synthetic(256, ratio=3, seed=0), []
    def loss_fn(inp, targ):
        calls.append(1); l = torch.nn.functional.cross_entropy(inp, targ)
        return l * float('nan') if len(calls) > 5 else l
    with pytest.raises(NaNLossError, match='last good checkpoint.*after epoch 1.*Lower the learning rate'):
        fit(create_model(), s, s, epochs=3, bs=64, loss_fn=loss_fn, out=tmp_path, ckpt_every=0, progress=False)
    ck = torch.load(tmp_path/'last.pt', weights_only=True)
    assert ck['epoch'] == 1 and all(torch.isfinite(v).all() for v in ck['model'].values() if v.is_floating_point())
    assert sorted(p.name for p in tmp_path.iterdir()) == ['best.pt', 'last.pt']  # no temp files left


def test_resume_other_architecture(tmp_path):
    from imbalance_course.models import register_model, MODELS
    s = make_synthetic(256, ratio=3, seed=0)
    fit(create_model(), s, s, epochs=1, bs=64, out=tmp_path, progress=False)
    register_model('tiny_test')(lambda c: torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(c * 28 * 28, 16)))
    try:
        with pytest.raises(ValueError, match='holds a resnet18 checkpoint, but the model is tiny_test; use another out folder'):
            fit(create_model('tiny_test'), s, s, epochs=1, bs=64, out=tmp_path, progress=False)
    finally: del MODELS['tiny_test']
    with pytest.raises(ValueError, match='does not fit this resnet18'):
        fit(create_model(n_cls=3), s, s, epochs=1, bs=64, out=tmp_path, progress=False)
    with pytest.raises(ValueError, match='resume with epochs=1'):
        fit(create_model(), s, s, epochs=2, bs=64, out=tmp_path, progress=False)


def test_corrupt_checkpoint(tmp_path):
    s = make_synthetic(128, ratio=3, seed=0)
    (tmp_path/'last.pt').write_bytes(b'garbage')
    with pytest.raises(ValueError, match='cannot be read .* delete it, or pass resume=False'):
        fit(create_model(), s, s, epochs=1, bs=64, out=tmp_path, progress=False)


def _calls(owner, name):
    "Every call to `owner.name(...)` (e.g. `np.load`) in the package's modules, as (file, line, keyword dict)."
    for f in sorted((REPO/'imbalance_course').glob('*.py')):
        for node in ast.walk(ast.parse(f.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == name
                    and getattr(node.func.value, 'id', None) == owner):
                yield f.name, node.lineno, {k.arg: k.value for k in node.keywords}


def test_torch_load_only_with_weights_only():
    calls = list(_calls('torch', 'load'))
    assert calls, 'expected torch.load calls in the package'
    for f, l, kw in calls:
        assert isinstance(kw.get('weights_only'), ast.Constant) and kw['weights_only'].value is True, f'{f}:{l} torch.load without weights_only=True'


def test_np_load_only_without_pickle():
    calls = list(_calls('np', 'load'))
    assert calls, 'expected np.load calls in the package'
    for f, l, kw in calls:
        assert 'allow_pickle' in kw and kw['allow_pickle'].value is False, f'{f}:{l} np.load without allow_pickle=False'
