"Lesson 11's CAM tools: bad names give one clear error listing the valid ones, and no hook outlives a call."
import pytest, torch
from imbalance_course.cam import METHODS, CamBrowser, cam_maps, energy_in_mask, pointing_game
from imbalance_course.models import create_model


def _hooks(model): return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) for m in model.modules())


@pytest.fixture(scope='module')
def net(): return create_model('resnet18').eval()


X = torch.randint(0, 256, (3, 1, 28, 28), dtype=torch.uint8)


@pytest.mark.parametrize('method', METHODS)
def test_maps_have_the_image_size_values_in_0_1_and_leave_no_hooks(net, method):
    before = _hooks(net)
    maps = cam_maps(net, X, method, target=1)
    assert maps.shape == (3, 28, 28) and maps.min() >= 0 and maps.max() <= 1 and not maps.isnan().any()
    assert _hooks(net) == before and not net.training


def test_hooks_are_removed_when_a_call_fails(net):
    before = _hooks(net)
    with pytest.raises(Exception): cam_maps(net, torch.zeros(2, 3, 28, 28), 'gradcam')  # 3 channels into a 1-channel network
    assert _hooks(net) == before


def test_unknown_method_and_layer(net):
    with pytest.raises(ValueError, match="CAM method 'gradcam\\+\\+' is unknown; choose one of: gradcam, gradcampp, smoothgradcampp, layercam, scorecam"):
        cam_maps(net, X, 'gradcam++')
    with pytest.raises(ValueError, match="layer 'layer4' is not in this network; its stages are: body.layer1, body.layer2, body.layer3, body.layer4"):
        cam_maps(net, X, layer='layer4')


def test_scores_need_matching_shapes():
    maps, masks = torch.rand(2, 28, 28), torch.zeros(2, 14, 14, dtype=torch.bool)
    with pytest.raises(ValueError, match="differ; upsample the maps"): pointing_game(maps, masks)
    with pytest.raises(ValueError, match="differ; upsample the maps"): energy_in_mask(maps, masks)
    with pytest.raises(ValueError, match="tol=-1 must be a whole number"): pointing_game(maps, torch.zeros(2, 28, 28, dtype=torch.bool), tol=-1)


def test_gallery_chart_holds_every_image_once_and_counts_empty_outcomes():
    "The kernel-free gallery: one TSV row per image and method (base64 JPEG), selectors for outcome/method/image, an outcome without images allowed."
    from imbalance_course.cam import CamGallery
    from imbalance_course.thresholds import VEGALITE_MIME
    jpeg = 'data:image/jpeg;base64,/9j/AAAA'
    items = {o: {m: [dict(src=jpeg + str(k), caption=f'{o}\tcap {k}') for k in range(n)] for m in ('gradcam', 'layercam')}
             for o, n in (('TP', 3), ('FN', 0), ('FP', 1), ('TN', 2))}
    g = CamGallery(items, 'title')
    spec = g.chart().to_dict()
    rows = [r.split('\t') for r in spec['datasets']['cams'].splitlines()]
    assert rows[0] == ['o', 'm', 'i', 'b64', 'caption'] and len(rows) == 1 + 2 * 6 and all(len(r) == 5 for r in rows)  # a tab in a caption cannot split a row
    assert {(r[0], r[1], r[2]) for r in rows[1:]} == {(o, m, str(k + 1)) for o, n in (('TP', 3), ('FP', 1), ('TN', 2)) for m in ('gradcam', 'layercam') for k in range(n)}
    params = {p['name']: p for p in spec['params']}
    assert params['outcome']['value'] == 'TP' and params['outcome']['bind']['labels'][1] == 'FN (0)' and params['image']['bind']['max'] == 3
    data, meta = g._repr_mimebundle_()
    assert data[VEGALITE_MIME] == spec and meta[VEGALITE_MIME]['embed_options']['renderer'] == 'svg' and 'class="cam-gallery"' in g.html()
