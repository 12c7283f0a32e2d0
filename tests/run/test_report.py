"""Tests of twigma.run.report's last touches to the pages Sphinx built (finish_page), on a page shaped as the
tools write it. The whole site is built and checked in tests/notebooks/test_report_site.py and
tests/browser/test_report_site.py."""
from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from twigma.run.report import ReportError, finish_page

#: notebooks/04_nsfw.html of a report build (sphinx-book-theme 1.4.0 on pydata-sphinx-theme, MyST-NB 1.4.0),
#: cut down to what the edits meet: the theme's header with its two search fields (pydata-sphinx-theme's
#: components/search-button-field.html) and an icon-only button named by its aria-label; two of the cells
#: MyST-NB folds (myst_nb/sphinx_.py's visit_HideCellInput), their code and tables shortened, the second with
#: two figures Sphinx copied to _images/; and a figure already inside a link.
PAGE = """
<!DOCTYPE html>


<html lang="en" data-content_root="../" data-theme="light">

  <head>
    <meta charset="utf-8" />
    <title>04 · NSFW: Twitter&#39;s flag and the detector, by cluster and over time &#8212; TWIGMA compendium</title>
  </head>
  <body data-bs-spy="scroll" data-bs-target=".bd-toc-nav" data-offset="180" data-bs-root-margin="0px 0px -60%" data-default-mode="light">
    <header id="pst-header" class="bd-header navbar navbar-expand-lg bd-navbar d-print-none">
<div class="bd-header__inner bd-page-width">
  <button class="pst-navbar-icon sidebar-toggle primary-toggle" aria-label="Site navigation">
    <span class="fa-solid fa-bars"></span>
  </button>
  <div class="col-lg-9 navbar-header-items">
    <div class="navbar-header-items__end">
        <div class="navbar-item navbar-persistent--container">
<button class="btn search-button-field search-button__button pst-js-only" title="Search" aria-label="Search" data-bs-placement="bottom" data-bs-toggle="tooltip">
 <i class="fa-solid fa-magnifying-glass"></i>
 <span class="search-button__default-text">Search</span>
 <span class="search-button__kbd-shortcut"><kbd class="kbd-shortcut__modifier">Ctrl</kbd>+<kbd class="kbd-shortcut__modifier">K</kbd></span>
</button>
        </div>
    </div>
  </div>
    <div class="navbar-persistent--mobile">
<button class="btn search-button-field search-button__button pst-js-only" title="Search" aria-label="Search" data-bs-placement="bottom" data-bs-toggle="tooltip">
 <i class="fa-solid fa-magnifying-glass"></i>
 <span class="search-button__default-text">Search</span>
 <span class="search-button__kbd-shortcut"><kbd class="kbd-shortcut__modifier">Ctrl</kbd>+<kbd class="kbd-shortcut__modifier">K</kbd></span>
</button>
    </div>
</div>
    </header>
      <main id="main-content" class="bd-main" role="main">
            <div class="bd-article-container">
                <article class="bd-article">
<p class="twigma-page-verdicts">Verdicts of this page: <a href="#findings">C6</a> <span class="twigma-verdict verdict-yes on-synthetic">yes<span class="twigma-data"> · on the synthetic sample</span></span>. The code of each cell is folded: <em>Show code cell source</em> opens it.</p><div class="cell tag_parameters tag_hide-input docutils container">
<details class="admonition hide above-input">
<summary aria-label="Toggle hidden content">
<p class="collapsed admonition-title">Show code cell source</p>
<p class="expanded admonition-title">Hide code cell source</p>
</summary>
<div class="cell_input docutils container">
<div class="highlight-ipython3 notranslate"><div class="highlight"><pre><span></span><span class="n">THRESHOLD</span><span class="p">:</span> <span class="nb">float</span> <span class="o">=</span> <span class="mf">0.5</span>
</pre></div>
</div>
</div>
</details>
</div>
<div class="cell tag_hide-input docutils container">
<details class="admonition hide above-input">
<summary aria-label="Toggle hidden content">
<p class="collapsed admonition-title">Show code cell source</p>
<p class="expanded admonition-title">Hide code cell source</p>
</summary>
<div class="cell_input docutils container">
<div class="highlight-ipython3 notranslate"><div class="highlight"><pre><span></span><span class="n">by_cluster</span> <span class="o">=</span> <span class="n">nsfw</span><span class="o">.</span><span class="n">nsfw_by_cluster</span><span class="p">(</span><span class="n">release</span><span class="p">)</span>
</pre></div>
</div>
</div>
</details>
<div class="cell_output docutils container">
<div class="output text_html"><div>
<table border="1" class="dataframe">
  <thead><tr style="text-align: right;"><th></th><th>cluster</th><th>n_images</th></tr></thead>
  <tbody><tr><th>0</th><td>1</td><td>246</td></tr></tbody>
</table>
</div></div><img alt="../_images/bffb1f7f5219a15cf655ddd0c5e3d4a276d40fbddfefd2ee6eff73a6c6a8bb8b.png" src="../_images/bffb1f7f5219a15cf655ddd0c5e3d4a276d40fbddfefd2ee6eff73a6c6a8bb8b.png" />
<img alt="../_images/c01dc92b748bd79ba3c0c7912ccfc11b68e25c9dda4cd75a1da6c1df489ce506.png" src="../_images/c01dc92b748bd79ba3c0c7912ccfc11b68e25c9dda4cd75a1da6c1df489ce506.png" />
</div>
</div>
<p>The next cell says what the figure shows, with this run&#8217;s numbers.</p>
<a class="reference internal image-reference" href="../_images/scaled.png"><img alt="../_images/scaled.png" src="../_images/scaled.png" style="width: 50%;" /></a>
                </article>
            </div>
      </main>
  </body>
</html>
"""
FIGURES = ["../_images/bffb1f7f5219a15cf655ddd0c5e3d4a276d40fbddfefd2ee6eff73a6c6a8bb8b.png",
           "../_images/c01dc92b748bd79ba3c0c7912ccfc11b68e25c9dda4cd75a1da6c1df489ce506.png"]


def soup(text: str) -> BeautifulSoup:
    return BeautifulSoup(text, "html.parser")


def test_figures_open_full_size_and_controls_are_named_by_their_words():
    done = soup(finish_page(PAGE, "04_nsfw", "notebooks/04_nsfw.html"))
    zooms = done.select("a.twigma-zoom")
    assert [a["href"] for a in zooms] == FIGURES
    assert [a.img["src"] for a in zooms] == FIGURES and all(a["title"] == "open the figure at full size" for a in zooms)
    assert [img["alt"] for img in done.select('img[src^="../_images/"]')] == [
        "04_nsfw: figure 1", "04_nsfw: figure 2", "04_nsfw: figure 3"]
    scaled = done.select_one('img[src="../_images/scaled.png"]')
    assert scaled.parent["class"] == ["reference", "internal", "image-reference"]  # its link stays, not nested
    for button in done.select("button.search-button-field"):  # named by its words, "Search Ctrl+K"
        assert "aria-label" not in button.attrs and button["title"] == "Search"
        assert " ".join(button.get_text().split()) == "Search Ctrl+K"
    toggles = done.select("details.hide > summary")
    assert len(toggles) == 2 and not any("aria-label" in s.attrs for s in toggles)
    assert all(" ".join(s.get_text().split()) == "Show code cell source Hide code cell source" for s in toggles)
    # nothing else changes: the words of the page, the icon button that needs its label
    assert done.get_text() == soup(PAGE).get_text()
    assert done.select_one("button.sidebar-toggle")["aria-label"] == "Site navigation"
    assert done.title.get_text() == soup(PAGE).title.get_text()


def test_finishing_a_finished_page_changes_nothing():
    once = finish_page(PAGE, "04_nsfw")
    assert finish_page(once, "04_nsfw") == once


def test_a_page_without_folded_cells_or_figures_needs_only_the_search_field():
    page = soup(PAGE)
    page.article.clear()
    done = soup(finish_page(str(page), "index"))
    assert done.select("button.search-button-field") and not done.select("a.twigma-zoom")


def rename_search_field(page):
    for button in page.select("button.search-button-field"):
        button["class"] = ["btn", "search-field"]


def fold_toggle_as_a_button(page):
    page.select("details.hide")[1].summary.replace_with(page.new_tag("button", attrs={"class": "toggle"}))


@pytest.mark.parametrize("change, says", [
    (rename_search_field, r"the theme's search field \(button\.search-button-field\)"),
    (fold_toggle_as_a_button,
     r"the toggle \(details\.hide > summary\) of 1 of 2 folded code cells \(div\.cell\.tag_hide-input\)"),
], ids=["search field renamed", "fold toggle as a button"])
def test_markup_the_edits_do_not_know_fails_loudly(change, says):
    """A theme or MyST-NB that writes its pages differently stops the build with a message naming the page,
    rather than leaving the page unedited."""
    page = soup(PAGE)
    change(page)
    with pytest.raises(ReportError, match=rf"notebooks/04_nsfw.html: .*{says}.*make setup.*finish_page"):
        finish_page(str(page), "04_nsfw", "notebooks/04_nsfw.html")
