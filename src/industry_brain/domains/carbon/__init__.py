"""工业碳效码 (industrial carbon-efficiency code).

Accounting of each enterprise's CO2 (fuels × emission factors + purchased electricity × grid
factor + purchased heat × heat factor − zero-carbon electricity − sinks), carbon intensity
L = CO2 / value added, the industry-relative value K and the grade 1–5 (规上, Huzhou method) or
the 规下 proxy over revenue or tax; the signed dual code (企业码 + 碳效码) as QR; bank access
with the enterprise's consent; the 碳效贷 loan register and products; and the improvement list
for poorly graded firms. Every factor and cut-off is a dated parameter in
``parameters/carbon.yaml``.
"""
