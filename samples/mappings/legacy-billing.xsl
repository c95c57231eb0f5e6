<?xml version="1.0" encoding="UTF-8"?>
<!-- The old ESB's stylesheet for the legacy billing system (kept unchanged): it reads the bridge's canonical
     XML of an invoice and writes the billing system's flat BILLDOC format. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
                xmlns:c="urn:esb-bridge:canonical:1" exclude-result-prefixes="c">
  <xsl:output method="xml" encoding="UTF-8" indent="yes"/>
  <xsl:param name="message_id" select="''"/>
  <xsl:template match="/c:Invoice">
    <BILLDOC>
      <HEAD>
        <DOCNO><xsl:value-of select="c:invoice_number"/></DOCNO>
        <DOCTYPE>
          <xsl:choose>
            <xsl:when test="c:kind = 'credit_note'">G2</xsl:when>
            <xsl:otherwise>F2</xsl:otherwise>
          </xsl:choose>
        </DOCTYPE>
        <KUNNR><xsl:value-of select="c:customer_id"/></KUNNR>
        <FKDAT><xsl:value-of select="translate(c:issue_date, '-', '')"/></FKDAT>
        <WAERK><xsl:value-of select="c:currency"/></WAERK>
        <NETWR><xsl:value-of select="c:tax_exclusive_amount"/></NETWR>
        <MWSBK><xsl:value-of select="c:tax_total"/></MWSBK>
        <ZAHLB><xsl:value-of select="c:payable_amount"/></ZAHLB>
        <REFID><xsl:value-of select="$message_id"/></REFID>
      </HEAD>
      <xsl:for-each select="c:lines/c:item">
        <ITEM>
          <POSNR><xsl:value-of select="format-number(c:line_id, '000000')"/></POSNR>
          <MATNR><xsl:value-of select="c:product_id"/></MATNR>
          <FKIMG><xsl:value-of select="c:quantity"/></FKIMG>
          <VRKME><xsl:value-of select="c:unit_code"/></VRKME>
          <NETWR><xsl:value-of select="c:line_extension_amount"/></NETWR>
          <MWSKZ><xsl:value-of select="concat(c:tax_category, c:tax_rate)"/></MWSKZ>
        </ITEM>
      </xsl:for-each>
    </BILLDOC>
  </xsl:template>
</xsl:stylesheet>
