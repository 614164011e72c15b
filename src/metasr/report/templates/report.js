// metasr report: sortable, filterable tables with CSV download, and figures that open full size.
// Inline in the report (no network request); without JavaScript the tables and figures are plain.
(function () {
  "use strict";
  var FORMULA_START = /^[=+\-@\t\r]/;  // metasr.io.csv_safe_cell's rule (OWASP CSV injection)
  var PLAIN_NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

  function csvSafe(value) {
    var text = value == null ? "" : String(value);
    // A number shown with a true minus (metasr.display) is downloaded as a number a spreadsheet reads.
    var ascii = text.replace(/^\u2212/, "-");
    if (PLAIN_NUMBER.test(ascii)) return ascii;
    return FORMULA_START.test(text) ? "'" + text : text;
  }

  function csvCell(value) {
    var text = csvSafe(value);
    return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  function csvText(rows) {
    return rows.map(function (r) { return r.map(csvCell).join(","); }).join("\n") + "\n";
  }

  function squash(text) {
    return text.replace(/\s+/g, " ").trim();
  }

  // A cell as text: its block parts (a summary of findings' scenarios, lines) apart, and the numbers
  // of its footnote marks (<sup class="fn">) apart from the text they follow.
  var BLOCK = /^(BR|DIV|P|LI|UL|OL|TABLE|TR)$/;
  function cellParts(cell) {
    var parts = [""], marks = [];
    (function walk(node) {
      Array.prototype.forEach.call(node.childNodes, function (child) {
        if (child.nodeType === 3) { parts[parts.length - 1] += child.nodeValue; return; }
        if (child.nodeType !== 1) return;
        if (child.matches("sup.fn")) {
          marks = marks.concat(child.textContent.split(",").map(squash).filter(Boolean));
          return;
        }
        var block = BLOCK.test(child.tagName) || child.classList.contains("scenario");
        if (block) parts.push("");
        walk(child);
        if (block) parts.push("");
      });
    })(cell);
    return {parts: parts.map(squash).filter(Boolean), marks: marks};
  }

  // What a reader finds by filtering: the cell's text without its footnote numbers.
  function searchText(cell) {
    return cellParts(cell).parts.join(" ");
  }

  function rowSearchText(row) {  // read once per row: a large table is filtered at every keystroke
    if (row.metasrSearch === undefined) {
      row.metasrSearch = " " + Array.prototype.map.call(row.cells, searchText).join(" | ").toLowerCase() + " ";
    }
    return row.metasrSearch;
  }

  // A cell in a CSV file: its parts separated by "; ", its footnote marks written out ("[notes 1, 2]").
  function cellText(cell) {
    if (cell.hasAttribute("data-value")) return squash(cell.getAttribute("data-value"));
    var cut = cellParts(cell);
    var text = cut.parts.join("; ");
    if (!cut.marks.length) return text;
    return text + (text ? " " : "") + "[note" + (cut.marks.length > 1 ? "s " : " ") + cut.marks.join(", ") + "]";
  }

  function sortKey(cell) {
    var given = cell.getAttribute("data-sort");  // a signed value where the text has "fewer", "lower"
    if (given !== null && given !== "" && !isNaN(Number(given))) return {number: Number(given)};
    var text = searchText(cell);
    var number = parseFloat(text.replace(/\u2212/g, "-").replace(/^[^0-9+\-.]*/, ""));  // true minus first
    return isNaN(number) || !/^[\s<>≤≥~]*[+\-\u2212]?[0-9.]/.test(text) ? {text: text.toLowerCase()} : {number: number};
  }

  function compare(a, b) {
    if (a.number !== undefined && b.number !== undefined) return a.number - b.number;
    if (a.number !== undefined) return -1;  // numbers before text, text before empty
    if (b.number !== undefined) return 1;
    if (!a.text !== !b.text) return a.text ? -1 : 1;
    return a.text < b.text ? -1 : a.text > b.text ? 1 : 0;
  }

  function download(name, text) {
    var blob = new Blob(["\ufeff" + text], {type: "text/csv;charset=utf-8"});
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = name;
    document.body.appendChild(link);
    link.click();
    setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
  }

  function tableData(table) {
    var id = table.getAttribute("data-source");
    var node = id && document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function visibleRows(body) {
    return Array.prototype.filter.call(body.rows, function (r) { return !r.hidden; });
  }

  function tableCsv(table) {
    var body = table.tBodies[0];
    var data = tableData(table);
    if (data) {  // the results file's own columns and full-precision cells, rows as shown
      return csvText([data.columns].concat(visibleRows(body).map(function (r) {
        return data.rows[Number(r.getAttribute("data-row"))];
      })));
    }
    var head = table.tHead ? Array.prototype.map.call(table.tHead.rows[0].cells, cellText) : [];
    return csvText([head].concat(visibleRows(body).map(function (r) {
      return Array.prototype.map.call(r.cells, cellText);
    }), footnoteRows(table)));
  }

  // The footnotes a table's marks refer to (the list its data-footnotes names), as rows after it.
  function footnoteRows(table) {
    var id = table.getAttribute("data-footnotes");
    var list = id && document.getElementById(id);
    if (!list) return [];
    return [[], ["Note", "Footnote"]].concat(Array.prototype.map.call(list.querySelectorAll("li"), function (item, i) {
      return [String(i + 1), squash(item.textContent)];
    }));
  }

  function enhanceTable(table, index) {
    var body = table.tBodies[0];
    if (!body || !body.rows.length || !table.tHead) return;
    var name = table.getAttribute("data-table") || "table-" + (index + 1);
    var tools = document.createElement("div");
    tools.className = "table-tools";
    var label = document.createElement("label");
    label.textContent = "Filter ";
    var input = document.createElement("input");
    input.type = "search";
    input.setAttribute("data-filter", name);
    input.setAttribute("aria-label", "Filter the rows of " + (table.caption ? table.caption.textContent : name));
    label.appendChild(input);
    var count = document.createElement("span");
    count.className = "row-count";
    count.setAttribute("aria-live", "polite");
    var button = document.createElement("button");
    button.type = "button";
    button.setAttribute("data-download", name);
    var data = tableData(table);
    button.textContent = "Download CSV";
    button.title = data ? "Rows shown, with every column of " + data.file : "Rows shown, as in the table";
    tools.appendChild(label);
    tools.appendChild(button);
    tools.appendChild(count);
    var anchor = table.parentNode.classList.contains("scroll") ? table.parentNode : table;
    anchor.parentNode.insertBefore(tools, anchor);

    function update() {
      var shown = visibleRows(body).length;
      count.textContent = shown === body.rows.length ? body.rows.length + " rows" :
        shown + " of " + body.rows.length + " rows";
    }
    input.addEventListener("input", function () {
      var needle = input.value.toLowerCase().replace(/\s+/g, " ").trim();
      Array.prototype.forEach.call(body.rows, function (r) {
        r.hidden = needle !== "" && rowSearchText(r).indexOf(needle) < 0;
      });
      update();
    });
    button.addEventListener("click", function () {
      download((data ? data.file.split("/").pop().replace(/\.csv$/, "") : name) + ".csv", tableCsv(table));
    });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
      var sorter = document.createElement("button");
      sorter.type = "button";
      sorter.className = "sort";
      while (th.firstChild) sorter.appendChild(th.firstChild);
      th.appendChild(sorter);
      sorter.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var rows = Array.prototype.map.call(body.rows, function (r, i) {
          return {row: r, key: r.cells[column] ? sortKey(r.cells[column]) : {text: ""}, i: i};
        });
        rows.sort(function (a, b) { return (ascending ? 1 : -1) * compare(a.key, b.key) || a.i - b.i; });
        rows.forEach(function (r) { body.appendChild(r.row); });
      });
    });
    update();
  }

  function enhanceFigure(figure) {
    var graphic = figure.querySelector("svg, img");
    if (!graphic) return;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "open-figure";
    button.setAttribute("data-open", figure.getAttribute("data-figure"));
    button.textContent = "Open full size";
    figure.insertBefore(button, figure.firstChild);
    button.addEventListener("click", function () { openFigure(figure, graphic); });
  }

  function openFigure(figure, graphic) {
    var dialog = document.getElementById("figure-dialog");
    var holder = dialog.querySelector(".figure-full");
    holder.textContent = "";
    var copy = graphic.cloneNode(true);
    if (copy.tagName.toLowerCase() === "svg") {  // ids of the copy would clash with the page's
      copy.removeAttribute("aria-labelledby");
      Array.prototype.forEach.call(copy.querySelectorAll("[id]"), function (n) { n.id = "full-" + n.id; });
      Array.prototype.forEach.call(copy.querySelectorAll("*"), function (n) {
        ["clip-path", "href", "xlink:href", "mask", "fill", "filter"].forEach(function (a) {
          var v = n.getAttribute(a);
          if (v && v.indexOf("#") >= 0) n.setAttribute(a, v.replace(/#([A-Za-z_][\w.\-]*)/g, "#full-$1"));
        });
      });
    }
    copy.classList.add("full");
    holder.appendChild(copy);
    dialog.querySelector(".figure-title").textContent =
      (figure.querySelector("figcaption") || {innerText: ""}).innerText;
    dialog.showModal();
  }

  // Printing shows every collapsed part (leave-one-out tables): each <details> opens for the print
  // and closes again after it, as the reader had it.
  function printOpen() {
    var opened = [];
    window.addEventListener("beforeprint", function () {
      Array.prototype.forEach.call(document.querySelectorAll("details:not([open])"), function (d) {
        d.open = true;
        opened.push(d);
      });
    });
    window.addEventListener("afterprint", function () {
      opened.splice(0).forEach(function (d) { d.open = false; });
    });
  }

  function init() {
    printOpen();
    Array.prototype.forEach.call(document.querySelectorAll("table.data"), enhanceTable);
    if (typeof HTMLDialogElement === "function") {
      Array.prototype.forEach.call(document.querySelectorAll("figure[data-figure]"), enhanceFigure);
      var dialog = document.getElementById("figure-dialog");
      dialog.querySelector(".close").addEventListener("click", function () { dialog.close(); });
    }
    document.documentElement.classList.add("js");
  }

  window.metasrReport = {csvSafe: csvSafe, csvText: csvText, tableCsv: tableCsv};
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
