// One image of the image browser: every labeler's boxes, the consensus and the final boxes,
// drawn as the flag review page draws them, with layers to show or hide.
import { drawLabels, renderLayers, visibleAll } from "./box_layers.js";

const data = JSON.parse(document.getElementById("image-data").textContent);
const layer = document.getElementById("layer");
const visible = visibleAll(data);

function render() {
  layer.replaceChildren();
  drawLabels(layer, data, visible);
}

const list = document.getElementById("layers");
if (list) renderLayers(list, data, visible, render);
render();
document.getElementById("stage").dataset.ready = "1";
