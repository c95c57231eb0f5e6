<?xml version="1.0" encoding="UTF-8"?>
<!-- The old ESB's stylesheet for the legacy billing system's SOAP service (kept unchanged by the migration):
     canonical invoice XML -> the PostInvoice body. Billing keeps net line amounts, the tax as the ERP
     computed it (rounded per line) and the gross amount due. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
                xmlns:c="urn:esb-bridge:canonical:1"
                xmlns:m="http://erp.example.com/ws/2009/messages"
                xmlns:e="http://erp.example.com/ws/2009/common"
                exclude-result-prefixes="c">
  <xsl:output method="xml" encoding="UTF-8" indent="no"/>
  <xsl:param name="message_id" select="''"/>
  <xsl:template match="/c:Invoice">
    <m:PostInvoice>
      <m:invoice>
        <e:invoiceNumber><xsl:value-of select="c:invoice_number"/></e:invoiceNumber>
        <e:customerId><xsl:value-of select="c:customer_id"/></e:customerId>
        <e:issueDate><xsl:value-of select="c:issue_date"/></e:issueDate>
        <e:currency><xsl:value-of select="c:currency"/></e:currency>
        <e:total><xsl:value-of select="c:tax_exclusive_amount"/></e:total>
        <e:taxTotal><xsl:value-of select="c:tax_total"/></e:taxTotal>
        <e:grossTotal><xsl:value-of select="c:payable_amount"/></e:grossTotal>
        <xsl:for-each select="c:lines/c:item">
          <e:line>
            <e:lineNo><xsl:value-of select="c:line_id"/></e:lineNo>
            <e:sku><xsl:value-of select="c:product_id"/></e:sku>
            <xsl:if test="c:description">
              <e:description><xsl:value-of select="c:description"/></e:description>
            </xsl:if>
            <e:quantity><xsl:value-of select="c:quantity"/></e:quantity>
            <e:unitPrice><xsl:value-of select="c:unit_price"/></e:unitPrice>
            <e:amount><xsl:value-of select="c:line_extension_amount"/></e:amount>
            <e:taxRate><xsl:value-of select="c:tax_rate"/></e:taxRate>
          </e:line>
        </xsl:for-each>
      </m:invoice>
    </m:PostInvoice>
  </xsl:template>
</xsl:stylesheet>
