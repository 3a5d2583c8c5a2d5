// Cockpit charts (ECharts, vendored). Data, translated labels and the URL behind every segment
// come from the JSON block #cockpit-data rendered by the server; each chart also has a table
// beside it whose cells link to the same lists. A click on a segment opens its list.
(function () {
  "use strict";
  if (typeof echarts === "undefined") {
    return;
  }
  var block = document.getElementById("cockpit-data");
  var pending = 0;
  var rendered = 0;

  function done() {
    rendered += 1;
    document.body.setAttribute("data-charts-rendered", String(rendered));
    if (rendered === pending) {
      document.body.setAttribute("data-charts-ready", "1");
    }
  }

  function chart(name, option, linkOf) {
    draw(document.querySelector('[data-chart="' + name + '"]'), option, linkOf);
  }

  // linkOf(params) → the URL behind the clicked segment (or nothing)
  function draw(el, option, linkOf) {
    if (!el) {
      return;
    }
    pending += 1;
    var c = echarts.init(el, null, { renderer: "canvas" });
    var once = false;
    c.on("finished", function () {
      if (!once) {
        once = true;
        done();
      }
    });
    c.setOption(option);
    if (linkOf) {
      c.on("click", function (params) {
        var url = linkOf(params);
        if (url) {
          window.location.assign(url);
        }
      });
      el.setAttribute("data-clickable", "1");
    }
    window.addEventListener("resize", function () { c.resize(); });
  }

  function cell(table, series, index) {
    var row = table && table[series];
    return row ? row[index] : null;
  }

  // Domain sections: <div class="chart" data-chart-json="ID"> with a JSON block #ID holding
  // {"kind": "stacked", "categories": [...], "series": [{"name": ..., "data": [...]}]}.
  document.querySelectorAll("[data-chart-json]").forEach(function (el) {
    var src = document.getElementById(el.getAttribute("data-chart-json"));
    if (!src) {
      return;
    }
    var spec = JSON.parse(src.textContent);
    if (spec.kind === "funnel") {
      // {"kind": "funnel", "categories": [stage, …] (widest first), "series": [{"name", "data"}]}:
      // one funnel of the first series, in the categories' order, each stage labelled with its count
      var first = spec.series[0] || { name: "", data: [] };
      draw(el, {
        animation: false,
        tooltip: { trigger: "item", formatter: "{b}: {c}" },
        legend: { type: "plain", bottom: 0, left: "center" },
        color: spec.colors || undefined,
        series: [{
          name: first.name, type: "funnel", sort: "none", gap: 2, minSize: "8%",
          left: "10%", right: "10%", top: 10, bottom: 64,
          label: { show: true, position: "inside", formatter: "{b} {c}" },
          data: spec.categories.map(function (c, i) { return { name: c, value: first.data[i] }; })
        }]
      }, null);
      return;
    }
    // every legend entry whole (wrapped below the chart, never paged or cut) and every
    // category label shown (turned when they would not fit side by side)
    var longest = Math.max.apply(null, spec.categories.map(function (c) { return String(c).length; }).concat([0]));
    var turn = spec.categories.length * longest > 24;
    draw(el, {
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { type: "plain", bottom: 0, left: "center" },
      grid: { left: 10, right: 10, top: 10, bottom: 64, containLabel: true },
      xAxis: { type: "category", data: spec.categories,
               axisLabel: { interval: 0, hideOverlap: false, rotate: turn ? 30 : 0 } },
      yAxis: { type: "value" },
      color: spec.colors || undefined,
      series: spec.series.map(function (s) {
        return { name: s.name, type: "bar", stack: spec.kind === "stacked" ? "n" : undefined,
                 data: s.data, cursor: spec.links ? "pointer" : "default" };
      })
    }, spec.links ? function (p) { return cell(spec.links, p.seriesIndex, p.dataIndex); } : null);
  });

  if (!block) {
    return;
  }
  var payload = JSON.parse(block.textContent);
  var data = payload.data;
  var labels = payload.labels;
  var links = payload.links || {};
  var scales = ["above", "below", "unknown"];

  // a county officer's chart shows the county's towns (乡镇街道)
  var areas = data.area_level === "town" && data.by_town ? data.by_town : data.by_county;
  var counties = areas.map(function (c) { return c.name || c.code || "—"; });
  chart("county", {
    animation: false,
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 50, right: 10, top: 30, bottom: 30 },
    xAxis: { type: "category", data: counties },
    yAxis: { type: "value" },
    series: scales.map(function (k) {
      return {
        name: labels[k], type: "bar", stack: "n", cursor: "pointer",
        data: areas.map(function (c) { return c[k]; })
      };
    })
  }, function (p) { return links.areas ? links.areas[scales[p.seriesIndex]][p.dataIndex] : null; });

  // data completeness: one bar per department and item, the share of the enterprises in the
  // selection with a figure of the year (a click lists those without one)
  var rows = data.completeness.rows;
  chart("completeness", {
    animation: false,
    tooltip: {
      trigger: "item",
      formatter: function (p) {
        var r = rows[p.dataIndex];
        return p.name + "<br>" + r.n.toLocaleString() + " / " +
          data.completeness.enterprises.toLocaleString() + " = " + p.value + " %";
      }
    },
    grid: { left: 10, right: 40, top: 10, bottom: 10, containLabel: true },
    xAxis: { type: "value", max: 100, axisLabel: { formatter: "{value} %" } },
    yAxis: { type: "category", inverse: true, data: labels.completeness,
             axisLabel: { interval: 0 } },
    series: [{
      name: labels.share, type: "bar", cursor: "pointer",
      label: { show: true, position: "right", formatter: "{c} %" },
      data: rows.map(function (r) { return Math.round(r.share * 1000) / 10; })
    }]
  }, function (p) { return links.completeness ? links.completeness[p.dataIndex] : null; });

  chart("stages", {
    animation: false,
    tooltip: { trigger: "item" },
    series: [{
      type: "funnel", sort: "none", left: "10%", width: "80%", top: 10, bottom: 10,
      label: { show: true, position: "inside" },
      data: data.projects_by_stage.map(function (s) {
        return { name: labels.stages[s.stage] || s.stage, value: s.count };
      })
    }]
  }, function (p) { return links.stages ? links.stages[p.dataIndex] : null; });

  if (Object.keys(data.batch_status || {}).length) {
    chart("batches", {
      animation: false,
      tooltip: { trigger: "item" },
      legend: { top: 0 },
      series: [{
        type: "pie", radius: ["35%", "65%"], top: 20,
        cursor: "pointer",
        data: Object.keys(data.batch_status).map(function (st) {
          return { name: labels.status[st] || st, value: data.batch_status[st] };
        })
      }]
    }, function (p) { return links.batches ? links.batches[p.dataIndex] : null; });
  }
})();
