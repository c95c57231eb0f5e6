<?xml version="1.0" encoding="UTF-8"?>
<!-- The old ESB's stylesheet for customers into the legacy ERP (kept unchanged): canonical customer XML ->
     the UpsertCustomer body. The ERP's name field holds 35 characters (NAME1), so the ESB cuts there. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
                xmlns:c="urn:esb-bridge:canonical:1"
                xmlns:m="http://erp.example.com/ws/2009/messages"
                xmlns:e="http://erp.example.com/ws/2009/common"
                exclude-result-prefixes="c">
  <xsl:output method="xml" encoding="UTF-8" indent="no"/>
  <xsl:param name="message_id" select="''"/>
  <xsl:template match="/c:Customer">
    <m:UpsertCustomer>
      <m:customer>
        <e:name><xsl:value-of select="normalize-space(substring(c:name, 1, 35))"/></e:name>
        <xsl:if test="c:contacts/c:item[1]/c:email">
          <e:email><xsl:value-of select="c:contacts/c:item[1]/c:email"/></e:email>
        </xsl:if>
        <e:country><xsl:value-of select="c:addresses/c:item[1]/c:country"/></e:country>
        <xsl:if test="c:tax_id">
          <e:taxId><xsl:value-of select="c:tax_id"/></e:taxId>
        </xsl:if>
        <e:externalRef><xsl:value-of select="c:customer_number"/></e:externalRef>
      </m:customer>
    </m:UpsertCustomer>
  </xsl:template>
</xsl:stylesheet>
