-- orchestrate:requires core 20261123184710_init
-- orchestrate:requires billing 20261123184710_init
-- AlterTable
ALTER TABLE "billing_invoices" ADD COLUMN     "reportId" INTEGER;

-- CreateTable
CREATE TABLE "analytics_revenue_reports" (
    "id" SERIAL NOT NULL,
    "organizationId" INTEGER NOT NULL,
    "month" TEXT NOT NULL,
    "totalCents" INTEGER NOT NULL,

    CONSTRAINT "analytics_revenue_reports_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "analytics_revenue_reports_organizationId_month_key" ON "analytics_revenue_reports"("organizationId", "month");

-- AddForeignKey
ALTER TABLE "billing_invoices" ADD CONSTRAINT "billing_invoices_reportId_fkey" FOREIGN KEY ("reportId") REFERENCES "analytics_revenue_reports"("id") ON DELETE SET NULL ON UPDATE CASCADE;
